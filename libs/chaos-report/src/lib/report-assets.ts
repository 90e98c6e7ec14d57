// The files a report inlines, read once per process. uPlot comes from its
// npm package (a production dependency: node_modules holds it in the Docker
// image too). The report's own script and style are this lib's src/static/;
// tools/build/bundle.mjs copies them beside the bundle of every app or tool
// that includes this lib (dist/<project>/static/chaos-report/), as the image
// ships only dist/ and node_modules/.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ReportAssets {
  readonly uplotScript: string;
  readonly uplotStyle: string;
  readonly reportScript: string;
  readonly reportStyle: string;
}

/**
 * Where the report's own files are: beside the bundle when this code runs
 * bundled (dist/<project>/main.js), in this lib's source when it runs as
 * TypeScript (Jest).
 */
const staticDirCandidates = [join(__dirname, 'static', 'chaos-report'), join(__dirname, '..', 'static')];

let assets: ReportAssets | undefined;

export function reportAssets(): ReportAssets {
  if (assets !== undefined) return assets;
  const staticDir = staticDirCandidates.find((dir) => existsSync(join(dir, 'report.js')));
  if (staticDir === undefined) {
    throw new Error(
      `chaos report files not found in ${staticDirCandidates.join(' or ')} (a bundle gets them from tools/build/bundle.mjs)`,
    );
  }
  const read = (path: string) => readFileSync(path, 'utf8');
  assets = {
    uplotScript: read(require.resolve('uplot/dist/uPlot.iife.min.js')),
    uplotStyle: read(require.resolve('uplot/dist/uPlot.min.css')),
    reportScript: read(join(staticDir, 'report.js')),
    reportStyle: read(join(staticDir, 'report.css')),
  };
  return assets;
}

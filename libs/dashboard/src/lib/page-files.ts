// The files the page is made of, read once when the server starts, so a
// missing file fails the start rather than a visitor's request, and no
// request path ever reaches the file system. uPlot comes from its npm package
// (a production dependency: node_modules holds it in the Docker image too).
// The page's own files are this lib's src/static/; tools/build/bundle.mjs
// copies them beside the bundle of every app that includes this lib
// (dist/<app>/static/dashboard/), as the image ships only dist/ and
// node_modules/.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PageFile {
  contentType: string;
  body: Buffer;
}

const javascript = 'text/javascript; charset=utf-8';
const css = 'text/css; charset=utf-8';

/** URL path -> file name in the page's static folder. */
const ownFiles: ReadonlyArray<[urlPath: string, fileName: string, contentType: string]> = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/assets/dashboard.js', 'dashboard.js', javascript],
  ['/assets/dashboard.css', 'dashboard.css', css],
  ['/assets/favicon.svg', 'favicon.svg', 'image/svg+xml'],
];

/** URL path -> module path inside the uplot package. */
const uplotFiles: ReadonlyArray<[urlPath: string, modulePath: string, contentType: string]> = [
  ['/assets/uPlot.iife.min.js', 'uplot/dist/uPlot.iife.min.js', javascript],
  ['/assets/uPlot.min.css', 'uplot/dist/uPlot.min.css', css],
];

/**
 * Where the page's own files are: beside the bundle when this code runs
 * bundled (dist/<app>/main.js), in this lib's source when it runs as
 * TypeScript (Jest).
 */
const staticDirCandidates = [join(__dirname, 'static', 'dashboard'), join(__dirname, '..', 'static')];

/** Every file the server serves, by URL path. */
export function readPageFiles(): ReadonlyMap<string, PageFile> {
  const staticDir = staticDirCandidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!staticDir) {
    throw new Error(
      `dashboard page files not found in ${staticDirCandidates.join(' or ')} (an app bundle gets them from tools/build/bundle.mjs)`,
    );
  }
  return new Map([
    ...ownFiles.map(([urlPath, fileName, contentType]): [string, PageFile] => [
      urlPath,
      { contentType, body: readFileSync(join(staticDir, fileName)) },
    ]),
    ...uplotFiles.map(([urlPath, modulePath, contentType]): [string, PageFile] => [
      urlPath,
      { contentType, body: readFileSync(require.resolve(modulePath)) },
    ]),
  ]);
}

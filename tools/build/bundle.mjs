// Bundles one project's entry points (src/main.ts, src/register.ts) into
// dist/<projectRoot>/ as CommonJS for Node 20+. Workspace libs are inlined;
// npm packages stay external so OpenTelemetry can instrument them when they
// are required and the Docker image ships them from node_modules.
//
// A workspace lib may have files it reads at run time in src/static/ (the
// dashboard's page): for every lib whose code the bundle holds, they are
// copied to dist/<projectRoot>/static/<lib>/, beside the bundle, since the
// Docker image ships only dist/ and node_modules/.
import { build } from 'esbuild';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: node tools/build/bundle.mjs <projectRoot>');
  process.exit(2);
}
const entryPoints = ['main', 'register']
  .map((name) => join(projectRoot, 'src', `${name}.ts`))
  .filter((file) => existsSync(file));
if (entryPoints.length === 0) {
  console.error(`${projectRoot}: no src/main.ts or src/register.ts to bundle`);
  process.exit(2);
}
const outdir = join('dist', projectRoot);
const { metafile } = await build({
  entryPoints,
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  tsconfig: 'tsconfig.base.json',
  logLevel: 'warning',
  metafile: true,
});

const bundledLibs = new Set(
  Object.keys(metafile.inputs)
    .map((input) => /^libs\/([^/]+)\//.exec(input)?.[1])
    .filter((lib) => lib !== undefined),
);
rmSync(join(outdir, 'static'), { recursive: true, force: true });
for (const lib of bundledLibs) {
  const staticDir = join('libs', lib, 'src', 'static');
  if (existsSync(staticDir)) cpSync(staticDir, join(outdir, 'static', lib), { recursive: true });
}

// Bundles one project's entry points (src/main.ts, src/register.ts) into
// dist/<projectRoot>/ as CommonJS for Node 20+. Workspace libs are inlined;
// npm packages stay external so OpenTelemetry can instrument them when they
// are required and the Docker image ships them from node_modules.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
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
await build({
  entryPoints,
  outdir: join('dist', projectRoot),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  tsconfig: 'tsconfig.base.json',
  logLevel: 'warning',
});

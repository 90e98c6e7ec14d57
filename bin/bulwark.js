#!/usr/bin/env node
// `npx bulwark`: runs the CLI bundled in dist/ (apps/cli, built by `npm run build`).
// After a plain `npm install` it is not there yet: bundle it first, the way the
// build does, which takes a second.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const main = join(root, 'dist', 'apps', 'cli', 'main.js');
if (!existsSync(main)) {
  try {
    execFileSync(process.execPath, [join(root, 'tools', 'build', 'bundle.mjs'), 'apps/cli'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch {
    console.error('bulwark: the CLI is not built and bundling it failed; run `npm run build`');
    process.exit(1);
  }
}
require(main);

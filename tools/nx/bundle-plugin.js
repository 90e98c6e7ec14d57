// Nx inference plugin: every project with a src/main.ts (a service or a
// tool) or a src/register.ts (the telemetry preload) gets a cached `build`
// target that bundles it with tools/build/bundle.mjs into dist/<projectRoot>.
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

const entryFiles = ['src/main.ts', 'src/register.ts'];

module.exports.createNodesV2 = [
  '**/project.json',
  (projectFiles, _options, context) =>
    projectFiles.flatMap((projectFile) => {
      const projectRoot = dirname(projectFile);
      const entries = entryFiles.filter((file) => existsSync(join(context.workspaceRoot, projectRoot, file)));
      if (entries.length === 0) return [];
      return [
        [
          projectFile,
          {
            projects: {
              [projectRoot]: {
                targets: {
                  build: {
                    command: `node tools/build/bundle.mjs ${projectRoot}`,
                    options: { cwd: '{workspaceRoot}' },
                    cache: true,
                    inputs: ['production', '^production'],
                    outputs: [`{workspaceRoot}/dist/${projectRoot}`],
                  },
                },
              },
            },
          },
        ],
      ];
    }),
];

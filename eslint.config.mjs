// ESLint flat config: TypeScript rules plus Nx module boundaries that say what
// each tag may depend on. A core lib (pure protocol logic) may import only
// other core libs and no I/O package: no gRPC, no files, no sockets, no
// processes, no clock-reading timers package.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const ioPackages = [
  '@grpc/*',
  'ioredis',
  'pino',
  '@opentelemetry/*',
  'node:*',
  'fs',
  'fs/*',
  'net',
  'dgram',
  'child_process',
  'http',
  'http2',
  'https',
  'os',
  'worker_threads',
  'timers',
  'timers/*',
];

// Node built-ins are not "external dependencies" to Nx, so its banned-import
// list cannot catch them: core libs (found by their tag, not their path) also
// get no-restricted-imports for every built-in that does I/O or reads time.
const coreLibDirs = readdirSync('libs').filter((dir) => {
  const projectFile = `libs/${dir}/project.json`;
  return existsSync(projectFile) && JSON.parse(readFileSync(projectFile, 'utf8')).tags?.includes('type:core');
});
const ioBuiltins = [
  'fs',
  'net',
  'dgram',
  'child_process',
  'http',
  'http2',
  'https',
  'os',
  'worker_threads',
  'timers',
  'dns',
  'tls',
  'cluster',
  'readline',
  'process',
  'perf_hooks',
];

const typeRules = {
  'type:app': ['type:contracts', 'type:rpc', 'type:util', 'type:core', 'type:data-access', 'type:telemetry'],
  'type:tool': ['type:contracts', 'type:rpc', 'type:util', 'type:core', 'type:data-access'],
  'type:core': ['type:core'],
  'type:contracts': [],
  'type:util': ['type:util', 'type:core'],
  'type:telemetry': ['type:util', 'type:core'],
  'type:rpc': ['type:contracts', 'type:util', 'type:core'],
  'type:data-access': ['type:contracts', 'type:rpc', 'type:util', 'type:core', 'type:data-access'],
  'type:testing': [
    'type:contracts',
    'type:rpc',
    'type:util',
    'type:core',
    'type:data-access',
    'type:telemetry',
    'type:testing',
  ],
};
const scopes = ['coordinator', 'replica', 'router', 'lock', 'monitor'];

// Tests (and a lib's testing entry point) may also use the testing lib; the
// I/O ban on core libs holds for their tests too, except in the testing lib.
function boundaries({ forTests }) {
  return [
    'error',
    {
      enforceBuildableLibDependency: false,
      banTransitiveDependencies: true,
      depConstraints: [
        ...Object.entries(typeRules).map(([sourceTag, tags]) => ({
          sourceTag,
          onlyDependOnLibsWithTags: forTests && sourceTag !== 'type:core' ? [...tags, 'type:testing'] : tags,
          ...(sourceTag === 'type:core' ? { bannedExternalImports: ioPackages } : {}),
        })),
        { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
        // Tests across processes exercise every service's libs.
        { sourceTag: 'scope:system', onlyDependOnLibsWithTags: ['*'] },
        // The command line is a client of the KV store and the locks: it may use those scopes' (client) libraries.
        {
          sourceTag: 'scope:cli',
          onlyDependOnLibsWithTags: ['scope:cli', 'scope:shared', 'scope:router', 'scope:lock'],
        },
        ...scopes.map((scope) => ({
          sourceTag: `scope:${scope}`,
          onlyDependOnLibsWithTags: [`scope:${scope}`, 'scope:shared'],
        })),
      ],
    },
  ];
}

export default [
  { ignores: ['node_modules', 'dist', 'coverage', '.nx', '.bulwark', 'libs/contracts/src/generated'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': boundaries({ forTests: false }),
    },
  },
  {
    files: coreLibDirs.map((dir) => `libs/${dir}/src/**/*.ts`),
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ioBuiltins.flatMap((name) => [name, `${name}/*`, `node:${name}`, `node:${name}/*`]),
              message: 'core libs are pure: no I/O, no clock; pass effects out to the runner',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/src/testing/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries({ forTests: true }) },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // A lib's static files are served to browsers as they are (the dashboard's
    // page): browser globals, none of Node's.
    files: ['libs/*/src/static/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        document: 'readonly',
        window: 'readonly',
        performance: 'readonly',
        EventSource: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        uPlot: 'readonly',
        require: 'off',
        module: 'off',
        __dirname: 'off',
        process: 'off',
      },
    },
  },
  prettier,
];

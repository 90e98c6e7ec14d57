// One Jest run over every project: unit tests beside the code (*.spec.ts)
// and integration tests (*.int.spec.ts) that start real processes from dist/
// (built by `npm run build` before Jest in `npm test`). Type-checking is done
// once by `tsc`, so @swc/jest only strips types.
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]),
);

module.exports = {
  rootDir: __dirname,
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools'],
  testMatch: ['**/*.spec.ts'],
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  moduleNameMapper,
  setupFiles: ['<rootDir>/tools/jest/release-async-local-storage.js'],
  maxWorkers: 2,
  // Inside the checkout (ignored by git), not /tmp/jest_<uid>: a run leaves no directory outside it.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  testTimeout: 60_000,
  // A test that leaves a handle open fails loudly instead of hanging CI.
  forceExit: false,
  detectOpenHandles: false,
};

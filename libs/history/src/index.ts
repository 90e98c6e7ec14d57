export * from './lib/operation';
export * from './lib/time';
export * from './lib/json-lines';
export * from './lib/recorder';
export * from './lib/checker/search-budget';
export * from './lib/checker/check-linearizability';
// Seeded simulation of a correct store's clients, for benchmarks and tests
// of code that consumes histories (not for production paths).
export * from './testing/simulated-clients';

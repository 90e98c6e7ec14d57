export * from './memory-storage';
export * from './simulator';
export * from './mutant-node';
export * from './scenarios';
export * from './manual-cluster';

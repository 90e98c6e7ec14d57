export * from './memory-storage';
export * from './simulator';

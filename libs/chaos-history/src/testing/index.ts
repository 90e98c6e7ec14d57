export * from './history-builder';

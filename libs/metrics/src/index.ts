export * from './lib/registry';
export * from './lib/metrics-server';

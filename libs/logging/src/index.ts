export * from './lib/logging';

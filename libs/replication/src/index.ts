export * from './lib/epoch-history';

export * from './lib/ballot';
export * from './lib/config';
export * from './lib/durable-state-mirror';
export * from './lib/messages';
export * from './lib/node';

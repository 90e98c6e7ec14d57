export * from './lib/ballot';
export * from './lib/bytes';
export * from './lib/config';
export * from './lib/durable-state';
export * from './lib/durable-state-mirror';
export * from './lib/messages';
export * from './lib/node';
export * from './lib/ready';

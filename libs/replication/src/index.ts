export * from './lib/epoch-history';
export * from './lib/messages';
export * from './lib/node';
export * from './lib/primary-role';
export * from './lib/ready';
export * from './lib/replicated-log';
export * from './lib/settings';

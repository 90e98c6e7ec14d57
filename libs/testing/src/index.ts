export * from './lib/occurrence';
export * from './lib/otlp-receiver';
export * from './lib/paths';
export * from './lib/ports';
export * from './lib/processes';
export * from './lib/redis-server';
export * from './lib/reflection-check';
export * from './lib/services';

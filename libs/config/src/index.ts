export * from './lib/config';
export * from './lib/service-settings';
export * from './lib/directory';
export * from './lib/http-listen';

export * from './arbitraries';
export * from './requests';

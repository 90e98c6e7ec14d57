export * from './canary-fakes';

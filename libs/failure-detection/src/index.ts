export * from './lib/phi';
export * from './lib/settings';
export * from './lib/phi-accrual-detector';

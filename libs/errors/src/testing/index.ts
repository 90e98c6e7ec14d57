export * from './expect-invalid-argument';
export * from './rejection';

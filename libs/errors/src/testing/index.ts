export * from './expect-invalid-argument';

export * from './fake-runner';
export * from './serve-coordinator';

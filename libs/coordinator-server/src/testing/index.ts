export * from './fake-runner';
export * from './serve-coordinator';
export * from './fake-replicas';

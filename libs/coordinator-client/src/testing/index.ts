export * from './fake-coordinator';

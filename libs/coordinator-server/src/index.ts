export * from './lib/coordinator';

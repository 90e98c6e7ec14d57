export * from './lib/coordinator';
export { commandBytesMax } from './lib/command-limits';

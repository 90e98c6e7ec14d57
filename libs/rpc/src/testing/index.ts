export * from './recording-tracer';

export * from './builders';
export * from './expect-rejected';
export * from './run-steps';
export { stepsArbitrary, type Step } from './step-arbitraries';

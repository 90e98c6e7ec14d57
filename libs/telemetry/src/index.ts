export { flushTelemetry } from './lib/global-hook';
export { UntracedCallsSampler, untracedSpanName } from './lib/sampler';

export { flushTelemetry } from './lib/global-hook';
export { ExcludeProbesSampler, untracedSpanName } from './lib/sampler';

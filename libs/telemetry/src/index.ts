export { flushTelemetry } from './lib/global-hook';
export { SampledLinksSampler, UntracedCallsSampler, untracedSpanName } from './lib/sampler';

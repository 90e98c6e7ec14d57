// Keeps health checks and reflection out of traces: probes run every few
// seconds against every service and would bury real requests. Everything
// else follows the parent's decision (or is sampled at the root).
import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';

/** Span names of grpc-js instrumentation are `grpc.<package>.<Service>/<Method>`. */
export const untracedSpanName = /^grpc\.grpc\.(health\.v1\.Health|reflection\.v1(alpha)?\.ServerReflection)\//;

export class ExcludeProbesSampler implements Sampler {
  constructor(private readonly delegate: Sampler) {}

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (untracedSpanName.test(spanName)) return { decision: SamplingDecision.NOT_RECORD };
    return this.delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `ExcludeProbes{${this.delegate.toString()}}`;
  }
}

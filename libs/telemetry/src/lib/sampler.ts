// Keeps background calls out of traces, whatever their parent: health
// checks and reflection (probes run every few seconds against every
// service), the long-lived internal streams (a span per stream would last
// for hours and hide the per-operation spans they carry), and the lease
// renewals and leader lookups every group and monitor makes several times a
// second. They would bury real requests. Everything else is decided by the
// delegate.
import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import { TraceFlags, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';

/** Span names of grpc-js instrumentation are `grpc.<package>.<Service>/<Method>`. */
export const untracedSpanName = new RegExp(
  '^grpc\\.(' +
    [
      'grpc\\.health\\.v1\\.Health/',
      'grpc\\.reflection\\.v1(alpha)?\\.ServerReflection/',
      'shard\\.v1\\.Shard/Operate$',
      'replication\\.v1\\.Replication/Replicate$',
      'paxos\\.v1\\.Paxos/Exchange$',
      'coordinator\\.v1\\.Coordinator/(RenewPrimaryLease|GetLeader)$',
    ].join('|') +
    ')',
);

export class UntracedCallsSampler implements Sampler {
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
    return `UntracedCalls{${this.delegate.toString()}}`;
  }
}

/**
 * For root spans: one linked to a sampled span is sampled, whatever the
 * ratio. A batch span (a root of its own, linked to the operations it
 * carried) must be kept when one of them is, or a sampled request could not
 * be followed into the batch that carried it.
 */
export class SampledLinksSampler implements Sampler {
  constructor(private readonly delegate: Sampler) {}

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (links.some((link) => (link.context.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED)) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `SampledLinks{${this.delegate.toString()}}`;
  }
}

import { ROOT_CONTEXT, SpanKind, TraceFlags, type Link } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { SampledLinksSampler, UntracedCallsSampler } from './sampler';
import { rootSampler, tracingEnabled } from './setup';

describe('UntracedCallsSampler', () => {
  const sampler = new UntracedCallsSampler(new AlwaysOnSampler());
  const decide = (name: string) =>
    sampler.shouldSample(ROOT_CONTEXT, '0af7651916cd43dd8448eb211c80319c', name, SpanKind.SERVER, {}, []).decision;

  it('drops health checks and reflection', () => {
    expect(decide('grpc.grpc.health.v1.Health/Check')).toBe(SamplingDecision.NOT_RECORD);
    expect(decide('grpc.grpc.health.v1.Health/Watch')).toBe(SamplingDecision.NOT_RECORD);
    expect(decide('grpc.grpc.reflection.v1.ServerReflection/ServerReflectionInfo')).toBe(SamplingDecision.NOT_RECORD);
    expect(decide('grpc.grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo')).toBe(
      SamplingDecision.NOT_RECORD,
    );
  });

  it('drops the internal streams and the periodic lease renewals and leader lookups', () => {
    expect(decide('grpc.shard.v1.Shard/Operate')).toBe(SamplingDecision.NOT_RECORD);
    expect(decide('grpc.replication.v1.Replication/Replicate')).toBe(SamplingDecision.NOT_RECORD);
    expect(decide('grpc.paxos.v1.Paxos/Exchange')).toBe(SamplingDecision.NOT_RECORD);
    expect(decide('grpc.coordinator.v1.Coordinator/RenewPrimaryLease')).toBe(SamplingDecision.NOT_RECORD);
    expect(decide('grpc.coordinator.v1.Coordinator/GetLeader')).toBe(SamplingDecision.NOT_RECORD);
  });

  it('keeps every other call', () => {
    expect(decide('grpc.shard.v1.Shard/Put')).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide('shard.v1.Shard/Operate')).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide('grpc.coordinator.v1.Coordinator/Failover')).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide('grpc.kv.v1.KV/Get')).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide('grpc.coordinator.v1.Coordinator/RegisterMember')).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });
});

describe('SampledLinksSampler', () => {
  const link = (traceFlags: TraceFlags): Link => ({
    context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags },
  });
  const decide = (links: Link[]) =>
    new SampledLinksSampler(new AlwaysOffSampler()).shouldSample(
      ROOT_CONTEXT,
      '4bf92f3577b34da6a3ce929d0e0e4736',
      'shard.v1.Shard/Operate',
      SpanKind.PRODUCER,
      {},
      links,
    ).decision;

  it('samples a root that links a sampled span, whatever its own ratio says', () => {
    expect(decide([link(TraceFlags.NONE), link(TraceFlags.SAMPLED)])).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('leaves a root without sampled links to the ratio', () => {
    expect(decide([])).toBe(SamplingDecision.NOT_RECORD);
    expect(decide([link(TraceFlags.NONE)])).toBe(SamplingDecision.NOT_RECORD);
  });
});

describe('configuration from OTEL_* variables', () => {
  it('is off unless an OTLP endpoint is set, and off when disabled', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4317' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4317', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });

  it('samples by parent, dropping background calls whatever their parent', () => {
    expect(rootSampler({}).toString()).toMatch(/^UntracedCalls\{ParentBased\{root=SampledLinks\{AlwaysOnSampler\}/);
    expect(rootSampler({ OTEL_TRACES_SAMPLER_ARG: '0.25' }).toString()).toContain('TraceIdRatioBased');
  });
});

import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { AlwaysOnSampler, SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { ExcludeProbesSampler } from './sampler';
import { rootSampler, tracingEnabled } from './setup';

describe('ExcludeProbesSampler', () => {
  const sampler = new ExcludeProbesSampler(new AlwaysOnSampler());
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

  it('keeps every other call', () => {
    expect(decide('grpc.kv.v1.KV/Get')).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide('grpc.coordinator.v1.Coordinator/RegisterMember')).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });
});

describe('configuration from OTEL_* variables', () => {
  it('is off unless an OTLP endpoint is set, and off when disabled', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4317' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4317', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });

  it('samples by parent, dropping probes at the root', () => {
    expect(rootSampler({}).toString()).toContain('ExcludeProbes{AlwaysOnSampler}');
    expect(rootSampler({ OTEL_TRACES_SAMPLER_ARG: '0.25' }).toString()).toContain('TraceIdRatioBased');
  });
});

// OpenTelemetry Node SDK set up from the standard OTEL_* variables. Tracing
// is on when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and OTEL_SDK_DISABLED is not "true";
// otherwise nothing is loaded and calls pay nothing.
import { hostname } from 'node:os';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { RedactingSpanExporter } from './redacting-exporter';
import { SampledLinksSampler, UntracedCallsSampler } from './sampler';
import { setTelemetryShutdown } from './global-hook';

/** Links one span keeps; @bulwark/rpc's batch spans link at most this many. */
export const batchLinksMax = 1_024;

export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  if (env['OTEL_SDK_DISABLED'] === 'true') return false;
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
}

/**
 * Parent-based sampling: a root by the ratio in OTEL_TRACES_SAMPLER_ARG
 * (default 1) unless it links a sampled span; background calls never.
 */
export function rootSampler(env: NodeJS.ProcessEnv): Sampler {
  const ratio = Number(env['OTEL_TRACES_SAMPLER_ARG'] ?? '1');
  const root =
    Number.isFinite(ratio) && ratio < 1 ? new TraceIdRatioBasedSampler(Math.max(0, ratio)) : new AlwaysOnSampler();
  return new UntracedCallsSampler(new ParentBasedSampler({ root: new SampledLinksSampler(root) }));
}

export function startTelemetry(env: NodeJS.ProcessEnv = process.env): boolean {
  if (!tracingEnabled(env)) return false;
  // Only traces are exported; keep the SDK from configuring logs or metrics
  // exporters from its own defaults.
  env['OTEL_LOGS_EXPORTER'] ??= 'none';
  env['OTEL_METRICS_EXPORTER'] ??= 'none';
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.instance.id': env['BULWARK_MEMBER_ID'] || `${hostname()}-${process.pid}`,
    }),
    spanProcessors: [new BatchSpanProcessor(new RedactingSpanExporter(new OTLPTraceExporter()))],
    sampler: rootSampler(env),
    // A batch span links each operation it carried: up to 1,024 (an Operate
    // batch), past the SDK's default of 128.
    spanLimits: { linkCountLimit: batchLinksMax },
    instrumentations: [
      new GrpcInstrumentation(),
      // Command names only: values, lock owners and tokens never go into spans.
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
  sdk.start();
  setTelemetryShutdown(() => sdk.shutdown());
  return true;
}

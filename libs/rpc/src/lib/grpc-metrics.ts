// Server metrics for every gRPC method, under the names and labels users of
// go-grpc-prometheus (etcd, most Go services) already query:
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
// grpc_code is the canonical code name (OK, NOT_FOUND, UNAVAILABLE). The
// handler kit records every call, so no service does anything; every method
// a server registers is there from the start, at zero, as go-grpc-prometheus's
// InitializeMetrics does, so rate() and absent() work before the first call.
import { status, type MethodDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { counter, histogram } from '@bulwark/metrics';
import type { Counter, Histogram } from 'prom-client';

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

type MethodLabel = 'grpc_type' | 'grpc_service' | 'grpc_method';

const started = counter<MethodLabel>({
  name: 'grpc_server_started_total',
  help: 'Total number of RPCs started on the server.',
  labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
});
const handled = counter<MethodLabel | 'grpc_code'>({
  name: 'grpc_server_handled_total',
  help: 'Total number of RPCs completed on the server, regardless of success or failure.',
  labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'],
});
// Prometheus's default buckets (5 ms to 10 s), as go-grpc-prometheus uses.
const handlingSeconds = histogram<MethodLabel>({
  name: 'grpc_server_handling_seconds',
  help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
  labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
});

const codes = Object.values(status).filter((code): code is status => typeof code === 'number');

/** OK, NOT_FOUND, ...; a code outside the table keeps its number. */
export function codeName(code: number): string {
  return status[code] ?? String(code);
}

/** One method's series, bound once: a call then costs no label hashing. */
export interface MethodMetrics {
  /** Counts the call as started; returns what records its end with the status code it ended with. */
  start(): (code: number) => void;
}

class BoundMethod implements MethodMetrics {
  private readonly started: ReturnType<Counter<MethodLabel>['labels']>;
  private readonly handling: ReturnType<Histogram<MethodLabel>['labels']>;
  /** By code: at most the 17 codes and the odd number outside them. */
  private readonly handled = new Map<number, ReturnType<Counter<MethodLabel | 'grpc_code'>['labels']>>();

  constructor(private readonly labels: Record<MethodLabel, string>) {
    this.started = started.labels(labels);
    this.handling = handlingSeconds.labels(labels);
  }

  /** Makes every series of the method exist, at zero. */
  initialize(): void {
    this.started.inc(0);
    handlingSeconds.zero(this.labels);
    for (const code of codes) this.handledFor(code).inc(0);
  }

  start(): (code: number) => void {
    this.started.inc();
    const startedMs = performance.now();
    return (code) => {
      this.handling.observe((performance.now() - startedMs) / 1_000);
      this.handledFor(code).inc();
    };
  }

  private handledFor(code: number) {
    let child = this.handled.get(code);
    if (!child) {
      child = handled.labels({ ...this.labels, grpc_code: codeName(code) });
      this.handled.set(code, child);
    }
    return child;
  }
}

/**
 * By type and path. A server routes only the paths of the services it
 * registered to a handler, so this holds one entry per method served.
 */
const methods = new Map<string, BoundMethod>();

function bound(type: GrpcType, path: string): BoundMethod {
  const key = `${type} ${path}`;
  let method = methods.get(key);
  if (!method) {
    // "/kv.v1.KV/Get": the service is what lies between the slashes.
    const slash = path.lastIndexOf('/');
    method = new BoundMethod({
      grpc_type: type,
      grpc_service: path.slice(1, Math.max(1, slash)),
      grpc_method: path.slice(slash + 1),
    });
    methods.set(key, method);
  }
  return method;
}

/** The series of the method a call at `path` ("/kv.v1.KV/Get") runs. */
export function methodMetrics(type: GrpcType, path: string): MethodMetrics {
  return bound(type, path);
}

function grpcTypeOf(method: Pick<MethodDefinition<unknown, unknown>, 'requestStream' | 'responseStream'>): GrpcType {
  if (method.requestStream) return method.responseStream ? 'bidi_stream' : 'client_stream';
  return method.responseStream ? 'server_stream' : 'unary';
}

/** Makes every method of these services appear in the metrics, at zero, before its first call. */
export function initializeGrpcMetrics(definitions: readonly ServiceDefinition[]): void {
  for (const definition of definitions) {
    for (const method of Object.values(definition)) bound(grpcTypeOf(method), method.path).initialize();
  }
}

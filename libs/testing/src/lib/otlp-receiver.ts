// An OTLP/gRPC trace receiver inside the test process: services export to it
// as they would to Jaeger, and tests assert on the spans (names, kinds, trace
// ids and parent links) instead of assuming them.
import { loadSync } from '@grpc/proto-loader';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type GrpcObject,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { join } from 'node:path';

export interface ReceivedSpan {
  service: string;
  instance: string;
  name: string;
  kind: 'SERVER' | 'CLIENT' | 'INTERNAL' | 'PRODUCER' | 'CONSUMER' | 'UNSPECIFIED';
  traceId: string;
  spanId: string;
  parentSpanId: string;
  /** String, boolean and number attributes (int64 as a number). */
  attributes: Record<string, string | boolean | number>;
  /** The spans this one links to. */
  links: Array<{ traceId: string; spanId: string }>;
  status: { code: 'UNSET' | 'OK' | 'ERROR'; message: string };
}

interface RawValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue';
}
interface RawKeyValue {
  key: string;
  value?: RawValue;
}
interface RawRequest {
  resourceSpans: Array<{
    resource?: { attributes: RawKeyValue[] };
    scopeSpans: Array<{
      spans: Array<{
        traceId: Buffer;
        spanId: Buffer;
        parentSpanId: Buffer;
        name: string;
        kind: string;
        attributes: RawKeyValue[];
        links: Array<{ traceId: Buffer; spanId: Buffer }>;
        status?: { code: string; message: string };
      }>;
    }>;
  }>;
}

/** Spans kept, so a runaway exporter cannot exhaust memory. */
export const receivedSpansMax = 100_000;

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const definition = loadSync(join(__dirname, '../otlp/trace-subset.proto'), {
      keepCase: false,
      enums: String,
      longs: String,
      defaults: true,
      oneofs: true,
    });
    const grpcObject = loadPackageDefinition(definition) as GrpcObject;
    const traceV1 = (((grpcObject['opentelemetry'] as GrpcObject)['proto'] as GrpcObject)['collector'] as GrpcObject)[
      'trace'
    ] as GrpcObject;
    const service = (traceV1['v1'] as GrpcObject)['TraceService'] as unknown as { service: ServiceDefinition };
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const receiver = new OtlpReceiver(server, port);
    server.addService(service.service, {
      Export: (call: { request: RawRequest }, callback: (error: null, response: object) => void) => {
        receiver.record(call.request);
        callback(null, {});
      },
    });
    return receiver;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resolves with the spans once `ready(spans)` returns them; rejects at the timeout. */
  waitFor<T>(ready: (spans: ReceivedSpan[]) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const result = ready(this.spans);
        if (result === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(result);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        const counts = new Map<string, number>();
        for (const span of this.spans) {
          const name = `${span.service}:${span.kind}:${span.name}`;
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
        const got = [...counts].map(([name, count]) => `${name} x${count}`).join(', ');
        reject(new Error(`spans not received within ${timeoutMs} ms; got: ${got || 'none'}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private record(request: RawRequest): void {
    for (const resourceSpans of request.resourceSpans) {
      const attribute = (key: string) =>
        resourceSpans.resource?.attributes.find((item) => item.key === key)?.value?.stringValue ?? '';
      for (const scope of resourceSpans.scopeSpans) {
        for (const span of scope.spans) {
          if (this.spans.length >= receivedSpansMax) return;
          this.spans.push({
            service: attribute('service.name'),
            instance: attribute('service.instance.id'),
            name: span.name,
            kind: span.kind.replace('SPAN_KIND_', '') as ReceivedSpan['kind'],
            traceId: span.traceId.toString('hex'),
            spanId: span.spanId.toString('hex'),
            parentSpanId: span.parentSpanId.toString('hex'),
            attributes: Object.fromEntries(span.attributes.map((item) => [item.key, attributeValue(item.value)])),
            links: span.links.map((link) => ({
              traceId: link.traceId.toString('hex'),
              spanId: link.spanId.toString('hex'),
            })),
            status: {
              code: (span.status?.code ?? 'STATUS_CODE_UNSET').replace(
                'STATUS_CODE_',
                '',
              ) as ReceivedSpan['status']['code'],
              message: span.status?.message ?? '',
            },
          });
        }
      }
    }
    for (const listener of [...this.listeners]) listener();
  }
}

function attributeValue(value: RawValue | undefined): string | boolean | number {
  switch (value?.value) {
    case 'boolValue':
      return value.boolValue ?? false;
    case 'intValue':
      return Number(value.intValue);
    case 'doubleValue':
      return value.doubleValue ?? 0;
    default:
      return value?.stringValue ?? '';
  }
}

// An operation's W3C trace context inside a batched stream's message: what
// goes on the wire, what a receiver makes of it, batch spans and RPC outcomes.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  createTraceState,
  trace,
} from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DeadlineExceededError, FailedPreconditionError, NotLeaderError, UnavailableError } from '@bulwark/errors';
import {
  batchLinksMax,
  contextFrom,
  endRpcSpan,
  endRpcSpanWithStatus,
  linksTo,
  rpcAttributes,
  spanContextFrom,
  startBatchSpan,
  traceContextOf,
} from './trace-context';
import { RecordingTracer, enableAsyncContext } from '../testing';

const { exporter, tracer } = new RecordingTracer();

const traceId = '0af7651916cd43dd8448eb211c80319c';
const spanId = 'b7ad6b7169203331';
const unsampled = trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.NONE });

/** The one finished span named name. */
function finished(name: string) {
  const spans = exporter.getFinishedSpans().filter((span) => span.name === name);
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

let disableAsyncContext: () => void;

beforeAll(() => (disableAsyncContext = enableAsyncContext()));

afterAll(() => disableAsyncContext());
beforeEach(() => exporter.reset());

describe('traceContextOf and spanContextFrom', () => {
  it('carry a sampled span across the wire: same trace and span, remote, sampled', () => {
    const span = tracer.startSpan('client');
    const wire = traceContextOf(span);
    expect(wire).toEqual({
      traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`,
      tracestate: '',
    });
    const remote = spanContextFrom(wire);
    expect(remote).toEqual({
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    span.end();
  });

  it('carry the tracestate vendors put in the trace', () => {
    const parent = trace.wrapSpanContext({
      traceId,
      spanId,
      traceFlags: TraceFlags.SAMPLED,
      traceState: createTraceState('vendor=value,other=1'),
    });
    const span = tracer.startSpan('client', {}, trace.setSpan(ROOT_CONTEXT, parent));
    const wire = traceContextOf(span);
    expect(wire?.tracestate).toBe('vendor=value,other=1');
    expect(spanContextFrom(wire)?.traceState?.get('vendor')).toBe('value');
    span.end();
  });

  it('give nothing to carry for a span whose trace is not sampled', () => {
    expect(traceContextOf(unsampled)).toBeUndefined();
    // A span the SDK starts under an unsampled parent is not sampled either.
    const child = tracer.startSpan('client', {}, trace.setSpan(ROOT_CONTEXT, unsampled));
    expect(child.isRecording()).toBe(false);
    expect(traceContextOf(child)).toBeUndefined();
  });

  it('read an unsampled traceparent as the unsampled remote span it names', () => {
    const remote = spanContextFrom({ traceparent: `00-${traceId}-${spanId}-00`, tracestate: '' });
    expect(remote).toEqual({ traceId, spanId, traceFlags: TraceFlags.NONE, isRemote: true });
  });

  it.each([
    ['absent', undefined],
    ['empty', { traceparent: '', tracestate: '' }],
    ['not a traceparent', { traceparent: 'garbage', tracestate: '' }],
    ['a short trace id', { traceparent: `00-${traceId.slice(1)}-${spanId}-01`, tracestate: '' }],
    ['an all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${spanId}-01`, tracestate: '' }],
    ['an all-zero span id', { traceparent: `00-${traceId}-${'0'.repeat(16)}-01`, tracestate: '' }],
    ['version ff', { traceparent: `ff-${traceId}-${spanId}-01`, tracestate: '' }],
  ])('read a trace context that is %s as no span, and its context as the root', (_, wire) => {
    expect(spanContextFrom(wire)).toBeUndefined();
    expect(contextFrom(wire)).toBe(ROOT_CONTEXT);
  });
});

describe('contextFrom', () => {
  it('makes the remote span the parent of spans started in it', () => {
    const client = tracer.startSpan('client');
    const server = tracer.startSpan('server', { kind: SpanKind.SERVER }, contextFrom(traceContextOf(client)));
    server.end();
    client.end();
    const span = finished('server');
    expect(span.spanContext().traceId).toBe(client.spanContext().traceId);
    expect(span.parentSpanContext).toMatchObject({ spanId: client.spanContext().spanId, isRemote: true });
  });
});

describe('linksTo', () => {
  it('links only the sampled span contexts, in order', () => {
    const first = tracer.startSpan('first');
    const second = tracer.startSpan('second');
    const links = linksTo([first.spanContext(), undefined, unsampled.spanContext(), second.spanContext()]);
    expect(links).toEqual([{ context: first.spanContext() }, { context: second.spanContext() }]);
    expect(linksTo([])).toEqual([]);
  });
});

describe('rpcAttributes', () => {
  it('names the system, service and method, and no server without an address', () => {
    expect(rpcAttributes('shard.v1.Shard', 'Put')).toEqual({
      'rpc.system': 'grpc',
      'rpc.service': 'shard.v1.Shard',
      'rpc.method': 'Put',
    });
  });

  it('splits an address into host and numeric port', () => {
    expect(rpcAttributes('shard.v1.Shard', 'Put', 'replica-2:7100')).toEqual({
      'rpc.system': 'grpc',
      'rpc.service': 'shard.v1.Shard',
      'rpc.method': 'Put',
      'server.address': 'replica-2',
      'server.port': 7100,
    });
  });

  it('keeps the brackets of an IPv6 host, and gives no port for an address without one', () => {
    expect(rpcAttributes('s', 'M', '[::1]:7100')).toMatchObject({ 'server.address': '[::1]', 'server.port': 7100 });
    const portless = rpcAttributes('s', 'M', 'replica-2');
    expect(portless['server.address']).toBe('replica-2');
    expect(portless).not.toHaveProperty('server.port');
  });
});

describe('startBatchSpan', () => {
  it(`links the first ${batchLinksMax} sampled operations of a bigger batch and says how many it left out`, () => {
    const roomy = new InMemorySpanExporter();
    const roomyTracer = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(roomy)],
      spanLimits: { linkCountLimit: 4 * batchLinksMax },
    }).getTracer('test');
    const operations = Array.from({ length: batchLinksMax + 76 }, (_, index) =>
      trace
        .wrapSpanContext({ traceId, spanId: index.toString(16).padStart(16, '0'), traceFlags: TraceFlags.SAMPLED })
        .spanContext(),
    );
    startBatchSpan(roomyTracer, 'batch', SpanKind.PRODUCER, operations, {})?.end();
    const [batch] = roomy.getFinishedSpans();
    expect(batch?.links).toHaveLength(batchLinksMax);
    expect(batch?.links[0]?.context.spanId).toBe(operations[0]?.spanId);
    expect(batch?.attributes).toEqual({
      'bulwark.batch.operations': batchLinksMax + 76,
      'bulwark.batch.links_dropped': 76,
    });
  });

  it('starts nothing when no operation in the batch is sampled', () => {
    expect(startBatchSpan(tracer, 'batch', SpanKind.PRODUCER, [], {})).toBeUndefined();
    expect(
      startBatchSpan(tracer, 'batch', SpanKind.PRODUCER, [undefined, unsampled.spanContext()], {}),
    ).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('starts a root span of a new trace linked to exactly the sampled operations, even inside another span', () => {
    const first = tracer.startSpan('first');
    const second = tracer.startSpan('second');
    const active = tracer.startSpan('active');
    const batch = context.with(trace.setSpan(ROOT_CONTEXT, active), () =>
      startBatchSpan(
        tracer,
        'shard.v1.Shard/Operate',
        SpanKind.PRODUCER,
        [first.spanContext(), undefined, unsampled.spanContext(), second.spanContext()],
        { 'rpc.method': 'Operate' },
      ),
    );
    expect(batch).toBeDefined();
    batch?.end();
    const span = finished('shard.v1.Shard/Operate');
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.parentSpanContext).toBeUndefined();
    const batchTrace = span.spanContext().traceId;
    expect([first, second, active].map((other) => other.spanContext().traceId)).not.toContain(batchTrace);
    expect(span.links.map((link) => link.context)).toEqual([first.spanContext(), second.spanContext()]);
    expect(span.attributes).toEqual({ 'rpc.method': 'Operate', 'bulwark.batch.operations': 2 });
  });
});

describe('endRpcSpan', () => {
  it('ends a span that succeeded with status code 0 and its status left unset', () => {
    endRpcSpan(tracer.startSpan('ok'));
    const span = finished('ok');
    expect(span.attributes['rpc.grpc.status_code']).toBe(0);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it.each([
    ['FailedPreconditionError', new FailedPreconditionError('epoch', 'is stale'), 9],
    ['NotLeaderError', new NotLeaderError('replica-2'), 9],
    ['UnavailableError', new UnavailableError('no quorum'), 14],
    ['DeadlineExceededError', new DeadlineExceededError('too late'), 4],
  ])('ends a span that failed with a %s with its code from the error table and ERROR', (_, error, code) => {
    endRpcSpan(tracer.startSpan('failed'), error);
    const span = finished('failed');
    expect(span.attributes['rpc.grpc.status_code']).toBe(code);
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: error.message });
  });

  it('ends a span that failed outside the domain with INTERNAL (13)', () => {
    endRpcSpan(tracer.startSpan('error'), new RangeError('bug'));
    endRpcSpan(tracer.startSpan('thrown'), 'a string');
    expect(finished('error').attributes['rpc.grpc.status_code']).toBe(13);
    expect(finished('error').status).toEqual({ code: SpanStatusCode.ERROR, message: 'bug' });
    expect(finished('thrown').status).toEqual({ code: SpanStatusCode.ERROR, message: 'a string' });
  });
});

describe('endRpcSpanWithStatus', () => {
  it('ends a span with the status an operation was answered with', () => {
    endRpcSpanWithStatus(tracer.startSpan('ok'), 0, '');
    endRpcSpanWithStatus(tracer.startSpan('missing'), 5, 'key: not found');
    expect(finished('ok').attributes['rpc.grpc.status_code']).toBe(0);
    expect(finished('ok').status.code).toBe(SpanStatusCode.UNSET);
    expect(finished('missing').attributes['rpc.grpc.status_code']).toBe(5);
    expect(finished('missing').status).toEqual({ code: SpanStatusCode.ERROR, message: 'key: not found' });
  });
});

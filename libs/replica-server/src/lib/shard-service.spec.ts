// The Operate stream's tracing, driven through the handler with a fake call
// and fake operations (no gRPC server): an operation carrying its caller's
// trace context runs in a server span of that trace, active while it runs,
// and each batch with traced operations gets a consumer span linked to them.
import { EventEmitter } from 'node:events';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type SpanContext } from '@opentelemetry/api';
import { type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { kvV1, type commonV1, type shardV1 } from '@bulwark/contracts';
import { FailedPreconditionError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { spanContextFrom, traceContextOf, type HandlerContext, type HandlerKit } from '@bulwark/rpc';
import { shardService } from './shard-service';
import type { ShardOperations } from './shard-operations';
import { RecordingTracer, enableAsyncContext } from '@bulwark/rpc/testing';

const { exporter, tracer } = new RecordingTracer();

/** What of a grpc-js ServerDuplexStream the handler uses. */
class FakeCall extends EventEmitter {
  readonly written: shardV1.OperateResponse[] = [];
  writableEnded = false;
  cancelled = false;
  write(response: shardV1.OperateResponse): boolean {
    this.written.push(response);
    return true;
  }
  results(): shardV1.OperationResult[] {
    return this.written.flatMap((response) => response.results);
  }
}

/** The active span while each operation ran, by key; a put named 'stale' fails its fence. */
class FakeOperations {
  readonly activeWhileRunning = new Map<string, SpanContext | undefined>();
  get(request: shardV1.GetRequest): shardV1.GetResponse {
    this.activeWhileRunning.set(request.request?.key ?? '', trace.getActiveSpan()?.spanContext());
    return { response: undefined };
  }
  async put(request: shardV1.PutRequest): Promise<shardV1.PutResponse> {
    // Past an await and a turn of the event loop, as a write waiting for its commit.
    await new Promise((resolve) => setImmediate(resolve));
    const key = request.request?.key ?? '';
    this.activeWhileRunning.set(key, trace.getActiveSpan()?.spanContext());
    if (key === 'stale') throw new FailedPreconditionError('fence', 'token 3 is older than 4');
    return { response: undefined };
  }
}

/** The handler as the kit would wrap it: here unwrapped, to be called with the fake call. */
const passThrough = (handler: unknown) => handler;
const kit = { unary: passThrough, serverStream: passThrough, bidiStream: passThrough } as unknown as HandlerKit;
const logger = { error: () => undefined } as unknown as Logger;

function openStream(): { call: FakeCall; operations: FakeOperations; ended: () => Promise<void> } {
  const operations = new FakeOperations();
  const binding = shardService(kit, operations as unknown as ShardOperations, logger, tracer);
  const operate = binding.implementation['operate'] as unknown as (
    call: FakeCall,
    handlerContext: HandlerContext,
  ) => Promise<void>;
  const call = new FakeCall();
  const done = operate(call, { shutdown: new AbortController().signal });
  return {
    call,
    operations,
    ended: () => {
      call.emit('end');
      return done;
    },
  };
}

/** Waits turn by turn until count results were written (results go out once per turn). */
async function resultsWritten(call: FakeCall, count: number): Promise<shardV1.OperationResult[]> {
  for (let turn = 0; turn < 100 && call.results().length < count; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(call.results()).toHaveLength(count);
  return call.results();
}

const get = (id: bigint, key: string, traceContext?: commonV1.TraceContext): shardV1.Operation => ({
  id,
  timeoutMs: 5_000,
  request: {
    $case: 'get',
    get: { groupId: 'group-a', request: { key, consistency: kvV1.Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 } },
  },
  traceContext,
});
const put = (id: bigint, key: string, traceContext?: commonV1.TraceContext): shardV1.Operation => ({
  id,
  timeoutMs: 5_000,
  request: {
    $case: 'put',
    put: {
      groupId: 'group-a',
      request: {
        key,
        value: Buffer.from('v'),
        durability: kvV1.Durability.DURABILITY_UNSPECIFIED,
        fence: undefined,
        requestId: `request-${id}`,
      },
    },
  },
  traceContext,
});

/** A router's client span of an operation, as its trace context on the wire. */
function clientTrace(): { span: SpanContext; wire: commonV1.TraceContext } {
  const span = tracer.startSpan('shard.v1.Shard/Get', { kind: SpanKind.CLIENT }, ROOT_CONTEXT);
  const wire = traceContextOf(span);
  if (!wire) throw new Error('the test tracer samples every root span');
  return { span: span.spanContext(), wire };
}

const unsampledWire: commonV1.TraceContext = {
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
  tracestate: '',
};

const serverSpans = (): ReadableSpan[] => exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.SERVER);
const consumerSpans = (): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CONSUMER);

let disableAsyncContext: () => void;

beforeAll(() => (disableAsyncContext = enableAsyncContext()));

afterAll(() => disableAsyncContext());
beforeEach(() => exporter.reset());

describe('shardService Operate tracing', () => {
  it("runs an operation carrying its caller's trace in a server span child of it, active while it runs", async () => {
    const { call, operations, ended } = openStream();
    const read = clientTrace();
    const write = clientTrace();
    call.emit('data', { operations: [get(1n, 'a', read.wire), put(2n, 'b', write.wire)] });
    const results = await resultsWritten(call, 2);
    expect(results.map((result) => [result.id, result.result?.$case])).toEqual([
      [1n, 'get'],
      [2n, 'put'],
    ]);

    const spans = serverSpans();
    expect(spans.map((span) => span.name)).toEqual(['shard.v1.Shard/Get', 'shard.v1.Shard/Put']);
    const [getSpan, putSpan] = spans;
    expect(getSpan?.spanContext().traceId).toBe(read.span.traceId);
    expect(getSpan?.parentSpanContext).toMatchObject({ spanId: read.span.spanId, isRemote: true });
    expect(putSpan?.spanContext().traceId).toBe(write.span.traceId);
    expect(putSpan?.parentSpanContext).toMatchObject({ spanId: write.span.spanId, isRemote: true });
    // Active while the operation ran, past its awaits too: what it starts (the runner's spans) is its child.
    expect(operations.activeWhileRunning.get('a')?.spanId).toBe(getSpan?.spanContext().spanId);
    expect(operations.activeWhileRunning.get('b')?.spanId).toBe(putSpan?.spanContext().spanId);
    expect(getSpan?.attributes).toEqual({
      'rpc.system': 'grpc',
      'rpc.service': 'shard.v1.Shard',
      'rpc.method': 'Get',
      'rpc.grpc.status_code': 0,
    });
    expect(putSpan?.status.code).toBe(SpanStatusCode.UNSET);
    await ended();
  });

  it('ends the server span of a failed operation with ERROR and the code it was answered with', async () => {
    const { call, ended } = openStream();
    const caller = clientTrace();
    call.emit('data', { operations: [put(1n, 'stale', caller.wire)] });
    const [result] = await resultsWritten(call, 1);
    expect(result?.result?.$case).toBe('error');
    const answered = result?.result?.$case === 'error' ? result.result.error : undefined;
    expect(answered?.code).toBe(9);

    const [span] = serverSpans();
    expect(serverSpans()).toHaveLength(1);
    expect(span?.parentSpanContext?.spanId).toBe(caller.span.spanId);
    expect(span?.attributes['rpc.grpc.status_code']).toBe(9);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'fence: token 3 is older than 4' });
    await ended();
  });

  it('runs an operation without a trace context, or with a malformed one, in no span', async () => {
    const { call, operations, ended } = openStream();
    call.emit('data', {
      operations: [get(1n, 'plain'), get(2n, 'malformed', { traceparent: 'garbage', tracestate: '' })],
    });
    await resultsWritten(call, 2);
    expect(operations.activeWhileRunning.has('plain')).toBe(true);
    expect(operations.activeWhileRunning.get('plain')).toBeUndefined();
    expect(operations.activeWhileRunning.get('malformed')).toBeUndefined();
    expect(exporter.getFinishedSpans()).toEqual([]);
    await ended();
  });

  it('records nothing for an operation of an unsampled trace', async () => {
    const { call, operations, ended } = openStream();
    call.emit('data', { operations: [get(1n, 'a', unsampledWire)] });
    await resultsWritten(call, 1);
    // Still of that trace (what it starts is not sampled either), but not recorded.
    expect(operations.activeWhileRunning.get('a')?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(exporter.getFinishedSpans()).toEqual([]);
    await ended();
  });

  it('spans each batch with sampled operations as a consumer root linked to them, and no other batch', async () => {
    const { call, ended } = openStream();
    const first = clientTrace();
    const second = clientTrace();
    call.emit('data', {
      operations: [get(1n, 'a', first.wire), get(2n, 'b'), get(3n, 'c', unsampledWire), get(4n, 'd', second.wire)],
    });
    call.emit('data', { operations: [get(5n, 'e'), get(6n, 'f', unsampledWire)] });
    await resultsWritten(call, 6);

    const [batch] = consumerSpans();
    expect(consumerSpans()).toHaveLength(1);
    expect(batch?.name).toBe('shard.v1.Shard/Operate');
    expect(batch?.parentSpanContext).toBeUndefined();
    expect([first.span.traceId, second.span.traceId]).not.toContain(batch?.spanContext().traceId);
    expect(batch?.links.map((link) => link.context)).toEqual([
      spanContextFrom(first.wire),
      spanContextFrom(second.wire),
    ]);
    expect(batch?.attributes).toEqual({
      'rpc.system': 'grpc',
      'rpc.service': 'shard.v1.Shard',
      'rpc.method': 'Operate',
      'bulwark.batch.operations': 2,
    });
    await ended();
  });
});

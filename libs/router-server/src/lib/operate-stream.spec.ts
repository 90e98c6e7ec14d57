import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, trace, type Span } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { commonV1, kvV1, type shardV1 } from '@bulwark/contracts';
import { DeadlineExceededError, NotLeaderError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import { spanContextFrom } from '@bulwark/rpc';
import {
  batchBytesMax,
  OperateStream,
  operationFailure,
  operationsInFlightMax,
  type OperateCall,
  type OperateStreamOptions,
  type OperationRequest,
} from './operate-stream';
import { RecordingTracer, enableAsyncContext } from '@bulwark/rpc/testing';

/** Records what the stream writes; `writeResult` is what write answers (false: the transport asks to wait for 'drain'). */
class FakeCall extends EventEmitter {
  readonly written: shardV1.OperateRequest[] = [];
  writeResult = true;
  ended = false;
  cancelled = false;
  write(request: shardV1.OperateRequest): boolean {
    this.written.push(request);
    return this.writeResult;
  }
  end(): void {
    this.ended = true;
  }
  cancel(): void {
    this.cancelled = true;
  }
  writtenIds(): bigint[][] {
    return this.written.map((request) => request.operations.map((operation) => operation.id));
  }
}

/** A promise and what became of it so far; observing it also keeps an expected rejection from going unhandled. */
interface Observed<T> {
  readonly promise: Promise<T>;
  outcome: 'pending' | 'resolved' | 'rejected';
}

function observe<T>(promise: Promise<T>): Observed<T> {
  const observed: Observed<T> = { promise, outcome: 'pending' };
  promise.then(
    () => (observed.outcome = 'resolved'),
    () => (observed.outcome = 'rejected'),
  );
  return observed;
}

/** Resolves after the flush a submit or an answer scheduled (setImmediate, queued before this one). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const timeoutMs = 10_000;
const mebibyte = 1024 * 1024;

const get = (key: string): OperationRequest => ({
  $case: 'get',
  get: { groupId: 'group-a', request: { key, consistency: kvV1.Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 } },
});
const put = (key: string, valueBytes: number): OperationRequest => ({
  $case: 'put',
  put: {
    groupId: 'group-a',
    request: {
      key,
      value: Buffer.alloc(valueBytes),
      durability: kvV1.Durability.DURABILITY_UNSPECIFIED,
      fence: undefined,
      requestId: `request-${key}`,
    },
  },
});
const answer = (id: bigint): shardV1.OperationResult => ({
  id,
  result: { $case: 'get', get: { response: { header: undefined, found: false, kv: undefined } } },
});

const opened: OperateStream[] = [];

function open(options: OperateStreamOptions = {}): { call: FakeCall; stream: OperateStream } {
  const call = new FakeCall();
  const stream = new OperateStream(call as unknown as OperateCall, options);
  opened.push(stream);
  return { call, stream };
}

afterEach(() => {
  // Stops the deadline sweeps of streams a test left with operations pending.
  for (const stream of opened.splice(0)) stream.close();
});

describe('OperateStream', () => {
  describe('batching', () => {
    it('sends what is submitted in one turn as one request, with distinct ids, and settles each by its id', async () => {
      const { call, stream } = open();
      const answers = [
        stream.submit(get('a'), timeoutMs),
        stream.submit(get('b'), timeoutMs),
        stream.submit(get('c'), 500),
      ];
      expect(call.written).toEqual([]);
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n, 2n, 3n]]);
      expect(call.written[0]?.operations.map((operation) => operation.request)).toEqual([get('a'), get('b'), get('c')]);
      // Results arrive in any order, in any grouping.
      call.emit('data', { results: [answer(3n), answer(1n)] });
      call.emit('data', { results: [answer(2n)] });
      await expect(Promise.all(answers)).resolves.toEqual([answer(1n).result, answer(2n).result, answer(3n).result]);
      expect(stream.pending).toBe(0);

      const later = stream.submit(get('d'), timeoutMs);
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n, 2n, 3n], [4n]]);
      call.emit('data', { results: [answer(4n)] });
      await expect(later).resolves.toEqual(answer(4n).result);
    });

    it('sends operations submitted in different turns in different requests', async () => {
      const { call, stream } = open();
      const first = observe(stream.submit(get('a'), timeoutMs));
      await nextTurn();
      const second = observe(stream.submit(get('b'), timeoutMs));
      const third = observe(stream.submit(get('c'), timeoutMs));
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n], [2n, 3n]]);
      expect([first.outcome, second.outcome, third.outcome]).toEqual(['pending', 'pending', 'pending']);
    });

    it('cuts a batch before the operation that would take it past batchBytesMax of keys and values', async () => {
      const { call, stream } = open();
      // About 1 MiB each: three fit in 4 MiB, a fourth would not.
      const puts = Array.from({ length: 5 }, (_, index) =>
        observe(stream.submit(put(`k${index}`, mebibyte), timeoutMs)),
      );
      await nextTurn();
      expect(call.writtenIds()).toEqual([
        [1n, 2n, 3n],
        [4n, 5n],
      ]);
      expect(puts.every((operation) => operation.outcome === 'pending')).toBe(true);
    });

    it('sends an operation bigger than batchBytesMax alone, between the batches before and after it', async () => {
      const { call, stream } = open();
      observe(stream.submit(get('small-1'), timeoutMs));
      observe(stream.submit(get('small-2'), timeoutMs));
      observe(stream.submit(put('huge', batchBytesMax + mebibyte), timeoutMs));
      observe(stream.submit(get('small-3'), timeoutMs));
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n, 2n], [3n], [4n]]);
    });
  });

  describe('bounds', () => {
    it(`keeps at most ${operationsInFlightMax} operations in flight, and sends the next when an answer frees a slot`, async () => {
      const { call, stream } = open();
      const operations = Array.from({ length: operationsInFlightMax + 1 }, (_, index) =>
        observe(stream.submit(get(`k${index}`), timeoutMs)),
      );
      await nextTurn();
      expect(call.written).toHaveLength(1);
      expect(call.written[0]?.operations).toHaveLength(operationsInFlightMax);
      expect(stream.pending).toBe(operationsInFlightMax + 1);
      // Nothing else goes out while every slot is taken.
      await nextTurn();
      expect(call.written).toHaveLength(1);

      call.emit('data', { results: [answer(7n)] });
      await expect(operations[6]?.promise).resolves.toEqual(answer(7n).result);
      await nextTurn();
      expect(call.writtenIds()[1]).toEqual([BigInt(operationsInFlightMax + 1)]);
      call.emit('data', { results: [answer(BigInt(operationsInFlightMax + 1))] });
      await expect(operations[operationsInFlightMax]?.promise).resolves.toEqual(
        answer(BigInt(operationsInFlightMax + 1)).result,
      );
    });

    it('lets queuedMax operations wait beyond the in-flight slots, and refuses the next one retryably', async () => {
      const queuedMax = 2;
      const { call, stream } = open({ queuedMax });
      // Operations that fit a free in-flight slot do not count as waiting, even before they are written.
      const accepted = Array.from({ length: operationsInFlightMax + queuedMax }, (_, index) =>
        observe(stream.submit(get(`k${index}`), timeoutMs)),
      );
      const refused = stream.submit(get('one-too-many'), timeoutMs);
      await expect(refused).rejects.toBeInstanceOf(ResourceExhaustedError);
      await expect(refused).rejects.toMatchObject({ retryable: true, details: { field: 'queuedMax' } });
      await nextTurn();
      expect(call.written[0]?.operations).toHaveLength(operationsInFlightMax);
      expect(accepted.every((operation) => operation.outcome === 'pending')).toBe(true);
      await expect(stream.submit(get('still-too-many'), timeoutMs)).rejects.toBeInstanceOf(ResourceExhaustedError);

      // An answer frees a slot; one of the waiting takes it, and there is room to wait again.
      call.emit('data', { results: [answer(1n)] });
      const admitted = observe(stream.submit(get('admitted'), timeoutMs));
      await nextTurn();
      expect(admitted.outcome).toBe('pending');
      expect(call.writtenIds()[1]).toEqual([BigInt(operationsInFlightMax + 1)]);
      expect(stream.pending).toBe(operationsInFlightMax + queuedMax);
    });
  });

  describe('flow control', () => {
    it("writes nothing more after write returns false until 'drain', then sends what queued meanwhile", async () => {
      const { call, stream } = open();
      call.writeResult = false;
      observe(stream.submit(get('a'), timeoutMs));
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n]]);

      const queued = [observe(stream.submit(get('b'), timeoutMs)), observe(stream.submit(get('c'), timeoutMs))];
      await nextTurn();
      // An answer schedules a flush too; it must still wait.
      call.emit('data', { results: [answer(1n)] });
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n]]);
      expect(queued.map((operation) => operation.outcome)).toEqual(['pending', 'pending']);

      call.writeResult = true;
      call.emit('drain');
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n], [2n, 3n]]);
    });

    it('stops between the batches of one flush when the transport asks to wait', async () => {
      const { call, stream } = open();
      call.writeResult = false;
      for (let index = 0; index < 5; index++) observe(stream.submit(put(`k${index}`, mebibyte), timeoutMs));
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n, 2n, 3n]]);
      call.emit('drain');
      await nextTurn();
      expect(call.writtenIds()).toEqual([
        [1n, 2n, 3n],
        [4n, 5n],
      ]);
    });
  });

  describe('deadlines', () => {
    it('writes into each operation the time left to its deadline when it is sent', async () => {
      const clock = { nowMs: 1_000 };
      const { call, stream } = open({ nowMs: () => clock.nowMs });
      observe(stream.submit(get('a'), 500));
      observe(stream.submit(get('b'), 2_000));
      // Fractions round up: a timeout never shrinks to less than asked.
      observe(stream.submit(get('c'), 0.25));
      clock.nowMs = 1_200;
      await nextTurn();
      expect(call.written[0]?.operations.map((operation) => operation.timeoutMs)).toEqual([300, 1_800, 1]);
    });

    it('counts the time an operation waited for an in-flight slot against its deadline', async () => {
      const clock = { nowMs: 1_000 };
      const { call, stream } = open({ nowMs: () => clock.nowMs });
      for (let index = 0; index < operationsInFlightMax + 1; index++) observe(stream.submit(get(`k${index}`), 1_000));
      await nextTurn();
      clock.nowMs = 1_400;
      call.emit('data', { results: [answer(1n)] });
      await nextTurn();
      expect(call.written[1]?.operations.map((operation) => operation.timeoutMs)).toEqual([600]);
    });

    it('rejects an operation in flight with DeadlineExceededError when its deadline passes unanswered', async () => {
      const clock = { nowMs: 1_000 };
      const { call, stream } = open({ nowMs: () => clock.nowMs });
      const read = observe(stream.submit(get('a'), 100));
      const write = observe(stream.submit(put('b', 10), 100));
      const patient = observe(stream.submit(get('c'), 5_000));
      await nextTurn();
      expect(call.written).toHaveLength(1);
      clock.nowMs = 1_100;
      // The next sweep (every 20 ms) finds both past their deadline.
      await expect(read.promise).rejects.toBeInstanceOf(DeadlineExceededError);
      await expect(read.promise).rejects.toThrow(/^operation 1 had no answer by its deadline$/);
      await expect(write.promise).rejects.toThrow('the write may or may not have been applied');
      expect(patient.outcome).toBe('pending');
      expect(stream.pending).toBe(1);

      // A late answer for an operation that timed out is dropped; the others still settle.
      call.emit('data', { results: [answer(1n), answer(3n)] });
      await expect(patient.promise).resolves.toEqual(answer(3n).result);
      expect(stream.pending).toBe(0);
      expect(stream.usable).toBe(true);
    });

    it('keeps the slot of an operation that timed out here until the replica answers it, or a second later', async () => {
      const clock = { nowMs: 1_000 };
      const { call, stream } = open({ nowMs: () => clock.nowMs });
      const late = observe(stream.submit(get('late'), 100));
      const others = Array.from({ length: operationsInFlightMax - 1 }, (_, n) =>
        observe(stream.submit(get(`k${n}`), 60_000)),
      );
      await nextTurn();
      clock.nowMs = 1_100;
      await expect(late.promise).rejects.toBeInstanceOf(DeadlineExceededError);
      // The replica still counts it: a new operation waits for its slot.
      const next = observe(stream.submit(get('next'), 60_000));
      await nextTurn();
      expect(call.written).toHaveLength(1);
      // The replica's answer for it frees the slot.
      call.emit('data', { results: [answer(1n)] });
      await nextTurn();
      expect(call.written).toHaveLength(2);
      expect(call.written[1]?.operations.map((operation) => operation.id)).toEqual([BigInt(operationsInFlightMax + 1)]);
      expect(next.outcome).toBe('pending');
      expect(others.every((other) => other.outcome === 'pending')).toBe(true);
    });

    it('rejects an operation still waiting to be sent when its deadline passes, and never sends it', async () => {
      const clock = { nowMs: 1_000 };
      const { call, stream } = open({ nowMs: () => clock.nowMs });
      call.writeResult = false;
      observe(stream.submit(get('a'), timeoutMs));
      await nextTurn();
      const queued = observe(stream.submit(get('b'), 50));
      await nextTurn();
      clock.nowMs = 1_050;
      await expect(queued.promise).rejects.toBeInstanceOf(DeadlineExceededError);
      call.emit('drain');
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n]]);
      expect(stream.pending).toBe(1);
    });
  });

  describe('answers and failures', () => {
    it('rejects a failed operation with the typed error its unary call would throw, hint included', async () => {
      const { call, stream } = open();
      const pending = stream.submit(get('a'), timeoutMs);
      await nextTurn();
      const error: commonV1.Status = {
        code: status.FAILED_PRECONDITION,
        message: 'not the leader; leader is replica-2',
        detail: {
          field: '',
          leaderId: 'replica-2',
          leaderAddress: 'replica-2:7100',
          retryable: true,
          kind: 'not-leader',
          revision: 42n,
          decided: false,
        },
      };
      call.emit('data', { results: [{ id: 1n, result: { $case: 'error', error } }] });
      await expect(pending).rejects.toBeInstanceOf(NotLeaderError);
      await expect(pending).rejects.toMatchObject({
        message: 'not the leader; leader is replica-2',
        retryable: true,
        details: { leaderId: 'replica-2', leaderAddress: 'replica-2:7100', revision: 42n },
      });
    });

    it('reads a failure without a detail from its status code alone', () => {
      const failure = operationFailure({ code: status.UNAVAILABLE, message: 'down', detail: undefined });
      expect(failure).toBeInstanceOf(UnavailableError);
      expect(failure.message).toBe('down');
    });

    it('rejects an answer that carries no result with UnavailableError', async () => {
      const { call, stream } = open();
      const pending = stream.submit(get('a'), timeoutMs);
      await nextTurn();
      call.emit('data', { results: [{ id: 1n, result: undefined }] });
      await expect(pending).rejects.toThrow(new UnavailableError('operation 1 answered without a result'));
    });

    it('fails every operation in flight or queued when the stream fails, and everything submitted after', async () => {
      const { call, stream } = open();
      call.writeResult = false;
      const inFlight = observe(stream.submit(get('a'), timeoutMs));
      await nextTurn();
      const queued = observe(stream.submit(get('b'), timeoutMs));
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n]]);

      call.emit('error', Object.assign(new Error('gone'), { code: status.UNAVAILABLE, details: 'gone' }));
      await expect(inFlight.promise).rejects.toBeInstanceOf(UnavailableError);
      await expect(queued.promise).rejects.toThrow('gone');
      expect(stream.usable).toBe(false);
      expect(stream.pending).toBe(0);
      await expect(stream.submit(get('c'), timeoutMs)).rejects.toThrow('gone');
      call.emit('drain');
      await nextTurn();
      expect(call.written).toHaveLength(1);
    });

    it('fails what waits when the server ends the stream', async () => {
      const { call, stream } = open();
      const pending = stream.submit(get('a'), timeoutMs);
      await nextTurn();
      call.emit('end');
      await expect(pending).rejects.toThrow(new UnavailableError('the Operate stream ended'));
      expect(stream.usable).toBe(false);
    });
  });

  describe('close', () => {
    it('ends an idle stream', async () => {
      const { call, stream } = open();
      stream.close();
      expect([call.ended, call.cancelled]).toEqual([true, false]);
      expect(stream.usable).toBe(false);
      await expect(stream.submit(get('a'), timeoutMs)).rejects.toThrow('the Operate stream was closed');
    });

    it('cancels a stream with operations waiting, fails them, and sends nothing more', async () => {
      const { call, stream } = open();
      const sent = stream.submit(get('a'), timeoutMs);
      await nextTurn();
      const unsent = stream.submit(get('b'), timeoutMs);
      stream.close();
      expect([call.ended, call.cancelled]).toEqual([false, true]);
      await expect(sent).rejects.toBeInstanceOf(UnavailableError);
      await expect(unsent).rejects.toThrow('the Operate stream was closed');
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n]]);
    });
  });

  describe('tracing', () => {
    const { exporter, tracer } = new RecordingTracer();
    const replica = { memberId: 'replica-1', address: 'replica-1:7100' };
    const unsampledParent = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });

    /** A sampled span of the test's trace, standing for the router's KV call. */
    const callerSpan = (): Span => tracer.startSpan('grpc.kv.v1.KV/Put', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
    /** Runs work with parent as the active span, as a router handler submits. */
    const under = <T>(parent: Span, work: () => T): T => context.with(trace.setSpan(ROOT_CONTEXT, parent), work);
    const finishedNamed = (name: string): ReadableSpan[] =>
      exporter.getFinishedSpans().filter((span) => span.name === name);
    const clientSpans = (): ReadableSpan[] =>
      exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.CLIENT);
    const batchSpans = (): ReadableSpan[] => finishedNamed('shard.v1.Shard/Operate');
    /** The span ids the operations of the request written at index carry. */
    const carriedSpanIds = (call: FakeCall, index: number) =>
      call.written[index]?.operations.map((operation) => spanContextFrom(operation.traceContext)?.spanId);

    let disableAsyncContext: () => void;

    beforeAll(() => (disableAsyncContext = enableAsyncContext()));

    afterAll(() => disableAsyncContext());
    beforeEach(() => exporter.reset());

    it("gives each operation a client span under its caller's span, carried in the operation", async () => {
      const { call, stream } = open({ tracer, replica });
      const parent = callerSpan();
      const answers = under(parent, () => [stream.submit(get('a'), timeoutMs), stream.submit(put('b', 3), timeoutMs)]);
      await nextTurn();
      const operations = call.written[0]?.operations ?? [];
      expect(operations).toHaveLength(2);
      const carried = operations.map((operation) => spanContextFrom(operation.traceContext));
      expect(carried.map((spanContext) => spanContext?.traceId)).toEqual([
        parent.spanContext().traceId,
        parent.spanContext().traceId,
      ]);
      expect(carried.map((spanContext) => spanContext?.traceFlags)).toEqual([TraceFlags.SAMPLED, TraceFlags.SAMPLED]);
      const carriedIds = carried.map((spanContext) => spanContext?.spanId);
      expect(new Set([...carriedIds, parent.spanContext().spanId]).size).toBe(3);
      // Open until answered.
      expect(clientSpans()).toEqual([]);

      call.emit('data', { results: [answer(2n), answer(1n)] });
      await Promise.all(answers);
      const spans = clientSpans();
      expect(spans.map((span) => span.name).sort()).toEqual(['shard.v1.Shard/Get', 'shard.v1.Shard/Put']);
      const byName = (name: string) => spans.find((span) => span.name === name);
      expect(byName('shard.v1.Shard/Get')?.spanContext().spanId).toBe(carriedIds[0]);
      expect(byName('shard.v1.Shard/Put')?.spanContext().spanId).toBe(carriedIds[1]);
      for (const span of spans) {
        expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
        expect(span.status.code).toBe(SpanStatusCode.UNSET);
      }
      expect(byName('shard.v1.Shard/Get')?.attributes).toEqual({
        'rpc.system': 'grpc',
        'rpc.service': 'shard.v1.Shard',
        'rpc.method': 'Get',
        'server.address': 'replica-1',
        'server.port': 7100,
        'bulwark.replica.member': 'replica-1',
        'rpc.grpc.status_code': 0,
      });
    });

    it('spans each batch as a producer root linked to the sampled operations it carried', async () => {
      const { call, stream } = open({ tracer, replica });
      const first = callerSpan();
      const second = callerSpan();
      under(first, () => observe(stream.submit(get('a'), timeoutMs)));
      under(unsampledParent, () => observe(stream.submit(get('b'), timeoutMs)));
      under(second, () => observe(stream.submit(get('c'), timeoutMs)));
      await nextTurn();
      const [a, b, c] = call.written[0]?.operations ?? [];
      expect(a?.traceContext).toBeDefined();
      expect(b?.traceContext).toBeUndefined();
      expect(c?.traceContext).toBeDefined();

      // Ended once written.
      const [batch] = batchSpans();
      expect(batchSpans()).toHaveLength(1);
      expect(batch?.kind).toBe(SpanKind.PRODUCER);
      expect(batch?.parentSpanContext).toBeUndefined();
      expect([first, second].map((span) => span.spanContext().traceId)).not.toContain(batch?.spanContext().traceId);
      expect(batch?.links.map((link) => link.context.spanId)).toEqual([
        spanContextFrom(a?.traceContext)?.spanId,
        spanContextFrom(c?.traceContext)?.spanId,
      ]);
      expect(batch?.attributes).toEqual({
        'rpc.system': 'grpc',
        'rpc.service': 'shard.v1.Shard',
        'rpc.method': 'Operate',
        'server.address': 'replica-1',
        'server.port': 7100,
        'bulwark.batch.operations': 2,
      });
    });

    it('links each batch of one flush to the operations in that batch only', async () => {
      const { call, stream } = open({ tracer });
      const parent = callerSpan();
      under(parent, () => {
        for (let index = 0; index < 5; index++) observe(stream.submit(put(`k${index}`, mebibyte), timeoutMs));
      });
      await nextTurn();
      expect(call.writtenIds()).toEqual([
        [1n, 2n, 3n],
        [4n, 5n],
      ]);
      const batches = batchSpans();
      expect(batches.map((batch) => batch.links.map((link) => link.context.spanId))).toEqual([
        carriedSpanIds(call, 0),
        carriedSpanIds(call, 1),
      ]);
      expect(batches.map((batch) => batch.attributes['bulwark.batch.operations'])).toEqual([3, 2]);
      // Without a replica named, no server attributes.
      expect(batches[0]?.attributes).not.toHaveProperty('server.address');
    });

    it("ends a failed operation's span with ERROR and its error's code", async () => {
      const { call, stream } = open({ tracer, replica });
      const parent = callerSpan();
      const [refused, missing] = under(parent, () => [
        observe(stream.submit(put('a', 3), timeoutMs)),
        observe(stream.submit(get('b'), timeoutMs)),
      ]);
      await nextTurn();
      const notLeader: commonV1.Status = {
        code: status.FAILED_PRECONDITION,
        message: 'not the leader; leader is replica-2',
        detail: {
          field: '',
          leaderId: 'replica-2',
          leaderAddress: 'replica-2:7100',
          retryable: true,
          kind: 'not-leader',
          revision: 0n,
          decided: false,
        },
      };
      const unavailable: commonV1.Status = { code: status.UNAVAILABLE, message: 'no lease', detail: undefined };
      call.emit('data', {
        results: [
          { id: 1n, result: { $case: 'error', error: notLeader } },
          { id: 2n, result: { $case: 'error', error: unavailable } },
        ],
      });
      await expect(refused?.promise).rejects.toBeInstanceOf(NotLeaderError);
      await expect(missing?.promise).rejects.toBeInstanceOf(UnavailableError);
      const put_ = finishedNamed('shard.v1.Shard/Put')[0];
      expect(put_?.attributes['rpc.grpc.status_code']).toBe(status.FAILED_PRECONDITION);
      expect(put_?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'not the leader; leader is replica-2' });
      const get_ = finishedNamed('shard.v1.Shard/Get')[0];
      expect(get_?.attributes['rpc.grpc.status_code']).toBe(status.UNAVAILABLE);
      expect(get_?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no lease' });
    });

    it('carries no trace context and spans no batch for operations of an unsampled caller', async () => {
      const { call, stream } = open({ tracer, replica });
      const answers = under(unsampledParent, () => [
        stream.submit(get('a'), timeoutMs),
        stream.submit(get('b'), timeoutMs),
      ]);
      await nextTurn();
      expect(call.written[0]?.operations.map((operation) => operation.traceContext)).toEqual([undefined, undefined]);
      call.emit('data', { results: [answer(1n), answer(2n)] });
      await Promise.all(answers);
      expect(exporter.getFinishedSpans()).toEqual([]);
    });

    it('carries no trace context and spans no batch outside any trace when the sampler starts no new ones', async () => {
      // As a deployment with OTEL_TRACES_SAMPLER_ARG=0: only callers' traces are followed.
      const sampledExporter = new InMemorySpanExporter();
      const parentBased = new BasicTracerProvider({
        sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) }),
        spanProcessors: [new SimpleSpanProcessor(sampledExporter)],
      }).getTracer('test');
      const { call, stream } = open({ tracer: parentBased, replica });
      const answers = [stream.submit(get('a'), timeoutMs), stream.submit(get('b'), timeoutMs)];
      await nextTurn();
      expect(call.written[0]?.operations.map((operation) => operation.traceContext)).toEqual([undefined, undefined]);
      call.emit('data', { results: [answer(1n), answer(2n)] });
      await Promise.all(answers);
      expect(sampledExporter.getFinishedSpans()).toEqual([]);

      // The same tracer follows a sampled caller's operation.
      const parent = callerSpan();
      const traced = under(parent, () => stream.submit(get('c'), timeoutMs));
      await nextTurn();
      expect(spanContextFrom(call.written[1]?.operations[0]?.traceContext)?.traceId).toBe(parent.spanContext().traceId);
      call.emit('data', { results: [answer(3n)] });
      await traced;
      const [span] = sampledExporter.getFinishedSpans().filter((finished) => finished.kind === SpanKind.CLIENT);
      expect(span?.name).toBe('shard.v1.Shard/Get');
      expect(span?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    });

    it("ends a timed-out operation's span with DEADLINE_EXCEEDED (4), sent or still waiting", async () => {
      const clock = { nowMs: 1_000 };
      const { call, stream } = open({ tracer, replica, nowMs: () => clock.nowMs });
      const parent = callerSpan();
      const sent = under(parent, () => observe(stream.submit(get('a'), 100)));
      await nextTurn();
      call.writeResult = false;
      under(parent, () => observe(stream.submit(get('b'), timeoutMs)));
      await nextTurn();
      const waiting = under(parent, () => observe(stream.submit(put('c', 3), 100)));
      await nextTurn();
      expect(call.writtenIds()).toEqual([[1n], [2n]]);
      clock.nowMs = 1_100;
      // The next sweep (every 20 ms) finds both past their deadline.
      await expect(sent.promise).rejects.toBeInstanceOf(DeadlineExceededError);
      await expect(waiting.promise).rejects.toBeInstanceOf(DeadlineExceededError);
      const [get_] = finishedNamed('shard.v1.Shard/Get');
      expect(finishedNamed('shard.v1.Shard/Get')).toHaveLength(1);
      expect(get_?.attributes['rpc.grpc.status_code']).toBe(status.DEADLINE_EXCEEDED);
      expect(get_?.status).toEqual({
        code: SpanStatusCode.ERROR,
        message: 'operation 1 had no answer by its deadline',
      });
      const [put_] = finishedNamed('shard.v1.Shard/Put');
      expect(put_?.attributes['rpc.grpc.status_code']).toBe(status.DEADLINE_EXCEEDED);
      expect(put_?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      // Never sent: in no batch.
      expect(batchSpans().flatMap((batch) => batch.links.map((link) => link.context.spanId))).not.toContain(
        put_?.spanContext().spanId,
      );

      // A late answer ends nothing twice.
      call.emit('data', { results: [answer(1n)] });
      expect(finishedNamed('shard.v1.Shard/Get')).toHaveLength(1);
    });

    it("ends the spans of what waited on a stream that failed with the stream's code", async () => {
      const { call, stream } = open({ tracer, replica });
      const parent = callerSpan();
      const pending = under(parent, () => observe(stream.submit(get('a'), timeoutMs)));
      await nextTurn();
      call.emit('error', Object.assign(new Error('gone'), { code: status.UNAVAILABLE, details: 'gone' }));
      await expect(pending.promise).rejects.toBeInstanceOf(UnavailableError);
      const [span] = clientSpans();
      expect(clientSpans()).toHaveLength(1);
      expect(span?.attributes['rpc.grpc.status_code']).toBe(status.UNAVAILABLE);
      expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'gone' });
    });
  });
});

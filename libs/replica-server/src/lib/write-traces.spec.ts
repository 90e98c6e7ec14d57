// The spans of sampled writes after their operation's span: per backup
// replication spans on the primary, the fence check, the WAL append, and a
// backup's span per received batch; bounded in count and age.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, trace, type Span } from '@opentelemetry/api';
import { type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { commonV1 } from '@bulwark/contracts';
import { UnavailableError } from '@bulwark/errors';
import type { LogEntry } from '@bulwark/replication';
import { spanContextFrom, traceContextOf } from '@bulwark/rpc';
import { WriteTraces, tracedBatchesMax, tracedAgeMaxMs, tracedWritesMax } from './write-traces';
import { RecordingTracer, enableAsyncContext } from '@bulwark/rpc/testing';

const { exporter, tracer } = new RecordingTracer();

const replicate = 'replication.v1.Replication/Replicate';
const fenceCheck = 'bulwark.replica/FenceCheck';
const walAppend = 'bulwark.replica/WALAppend';

interface Outcome {
  readonly accepted: boolean;
}

const addresses: Record<string, string> = { 'replica-2': 'replica-2:7200', 'replica-3': 'replica-3:7300' };

function newTraces(clock = { nowMs: 0 }): WriteTraces<Outcome> {
  return new WriteTraces<Outcome>({
    fenceAccepted: (outcome) => outcome.accepted,
    addressOf: (memberId) => addresses[memberId],
    tracer,
    clockMs: () => clock.nowMs,
  });
}

const entry = (sequence: bigint): LogEntry => ({ sequence, epoch: 3n, command: new Uint8Array([1, 2, 3]) });
const entries = (...sequences: bigint[]) => sequences.map(entry);

/** A sampled span of the test's trace, standing for a shard.v1 operation's span. */
const operationSpan = (): Span => tracer.startSpan('shard.v1.Shard/Put', { kind: SpanKind.SERVER }, ROOT_CONTEXT);

/** Runs work with parent as the active span (how the runner proposes, inside the operation's span). */
function under<T>(parent: Span, work: () => T): T {
  return context.with(trace.setSpan(ROOT_CONTEXT, parent), work);
}

function finishedNamed(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.name === name);
}

/** The finished replication spans to backup, in the order they ended. */
function replicationTo(backup: string): ReadableSpan[] {
  return finishedNamed(replicate).filter((span) => span.attributes['bulwark.replica.backup'] === backup);
}

const spanIdsOf = (spans: readonly ReadableSpan[]) => spans.map((span) => span.spanContext().spanId);
const remoteSpanIds = (contexts: readonly commonV1.TraceContext[]) =>
  contexts.map((traceContext) => spanContextFrom(traceContext)?.spanId);

let disableAsyncContext: () => void;

beforeAll(() => (disableAsyncContext = enableAsyncContext()));

afterAll(() => disableAsyncContext());
beforeEach(() => exporter.reset());

describe('WriteTraces on the primary', () => {
  describe('following writes', () => {
    it('follows a write proposed in a sampled span, and not one proposed outside any span or in an unsampled one', () => {
      const traces = newTraces();
      traces.proposed(1n, false);
      const unsampled = trace.wrapSpanContext({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.NONE,
      });
      under(unsampled, () => traces.proposed(2n, false));
      expect(traces.followed.writes).toBe(0);
      expect(traces.replicating('replica-2', entries(1n, 2n))).toEqual([]);
      expect(traces.persisting(entries(1n, 2n))).toBeUndefined();

      under(operationSpan(), () => traces.proposed(3n, false));
      expect(traces.followed.writes).toBe(1);
      expect(traces.replicating('replica-2', entries(1n, 2n, 3n))).toHaveLength(1);
    });
  });

  describe('replication spans', () => {
    it('gives one trace context per followed entry, of one client span per backup and write, child of its operation', () => {
      const traces = newTraces();
      const first = operationSpan();
      const second = operationSpan();
      under(first, () => traces.proposed(1n, false));
      under(second, () => traces.proposed(2n, false));

      const toReplica2 = traces.replicating('replica-2', entries(1n, 2n, 3n));
      const toReplica3 = traces.replicating('replica-3', entries(1n, 2n, 3n));
      expect(toReplica2).toHaveLength(2);
      expect(toReplica3).toHaveLength(2);
      const remote = [...toReplica2, ...toReplica3].map((traceContext) => spanContextFrom(traceContext));
      expect(remote.map((spanContext) => spanContext?.traceId)).toEqual([
        first.spanContext().traceId,
        second.spanContext().traceId,
        first.spanContext().traceId,
        second.spanContext().traceId,
      ]);
      expect(new Set(remote.map((spanContext) => spanContext?.spanId)).size).toBe(4);
      // Open until the backups acknowledge.
      expect(finishedNamed(replicate)).toEqual([]);

      traces.acknowledged('replica-2', 2n);
      traces.acknowledged('replica-3', 2n);
      const spans = finishedNamed(replicate);
      expect(spanIdsOf(spans)).toEqual(remoteSpanIds([...toReplica2, ...toReplica3]));
      const [toReplica2First] = spans;
      expect(toReplica2First?.kind).toBe(SpanKind.CLIENT);
      expect(toReplica2First?.parentSpanContext?.spanId).toBe(first.spanContext().spanId);
      expect(spans[1]?.parentSpanContext?.spanId).toBe(second.spanContext().spanId);
      expect(toReplica2First?.attributes).toEqual({
        'rpc.system': 'grpc',
        'rpc.service': 'replication.v1.Replication',
        'rpc.method': 'Replicate',
        'server.address': 'replica-2',
        'server.port': 7200,
        'bulwark.replica.backup': 'replica-2',
        'rpc.grpc.status_code': 0,
      });
      expect(spans[2]?.attributes['bulwark.replica.backup']).toBe('replica-3');
      expect(spans.every((span) => span.status.code === SpanStatusCode.UNSET)).toBe(true);
    });

    it('gives the same span again when entries are resent to a backup, and starts no second one', () => {
      const traces = newTraces();
      under(operationSpan(), () => traces.proposed(1n, false));
      const sent = traces.replicating('replica-2', entries(1n));
      const resent = traces.replicating('replica-2', entries(1n));
      expect(resent).toEqual(sent);
      traces.acknowledged('replica-2', 1n);
      expect(spanIdsOf(replicationTo('replica-2'))).toEqual(remoteSpanIds(sent));
    });

    it('ends only the spans to the acknowledging backup, through the durable sequence it names', () => {
      const traces = newTraces();
      for (const sequence of [1n, 2n, 3n]) under(operationSpan(), () => traces.proposed(sequence, false));
      const toReplica2 = traces.replicating('replica-2', entries(1n, 2n, 3n));
      const toReplica3 = traces.replicating('replica-3', entries(1n, 2n, 3n));

      traces.acknowledged('replica-2', 2n);
      expect(spanIdsOf(replicationTo('replica-2'))).toEqual(remoteSpanIds(toReplica2.slice(0, 2)));
      expect(replicationTo('replica-3')).toEqual([]);

      // Acknowledging the same again ends nothing twice; a higher one ends the rest.
      traces.acknowledged('replica-2', 2n);
      expect(replicationTo('replica-2')).toHaveLength(2);
      traces.acknowledged('replica-2', 10n);
      expect(spanIdsOf(replicationTo('replica-2'))).toEqual(remoteSpanIds(toReplica2));

      traces.acknowledged('replica-3', 1n);
      expect(spanIdsOf(replicationTo('replica-3'))).toEqual(remoteSpanIds(toReplica3.slice(0, 1)));
      // An acknowledgement from a member the write never went to ends nothing.
      traces.acknowledged('replica-4', 10n);
      expect(finishedNamed(replicate)).toHaveLength(4);
    });
  });

  describe('settling', () => {
    it('keeps a write answered before its backups acknowledged it (async mode) until they do', () => {
      const traces = newTraces();
      under(operationSpan(), () => traces.proposed(1n, false));
      traces.replicating('replica-2', entries(1n));
      traces.replicating('replica-3', entries(1n));
      traces.settled(1n);
      expect(finishedNamed(replicate)).toEqual([]);
      expect(traces.followed.writes).toBe(1);

      traces.acknowledged('replica-2', 1n);
      expect(traces.followed.writes).toBe(1);
      traces.acknowledged('replica-3', 1n);
      expect(traces.followed.writes).toBe(0);
      const spans = finishedNamed(replicate);
      expect(spans).toHaveLength(2);
      expect(spans.map((span) => span.attributes['rpc.grpc.status_code'])).toEqual([0, 0]);
    });

    it('forgets a write once it is answered when its backups acknowledged it first (sync mode), or it went to none', () => {
      const traces = newTraces();
      under(operationSpan(), () => traces.proposed(1n, false));
      under(operationSpan(), () => traces.proposed(2n, false));
      traces.replicating('replica-2', entries(1n));
      traces.acknowledged('replica-2', 1n);
      expect(traces.followed.writes).toBe(2);
      traces.settled(1n);
      traces.settled(2n);
      expect(traces.followed.writes).toBe(0);
      // Settling what is not followed is harmless.
      traces.settled(9n);
      expect(traces.replicating('replica-2', entries(1n, 2n))).toEqual([]);
    });

    it('ends the open replication spans of a failed write with ERROR and the failure code', () => {
      const traces = newTraces();
      under(operationSpan(), () => traces.proposed(1n, false));
      traces.replicating('replica-2', entries(1n));
      traces.replicating('replica-3', entries(1n));
      traces.acknowledged('replica-2', 1n);
      traces.settled(1n, new UnavailableError('lost the primary lease'));
      expect(traces.followed.writes).toBe(0);
      const failed = replicationTo('replica-3');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.attributes['rpc.grpc.status_code']).toBe(14);
      expect(failed[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'lost the primary lease' });
      // The backup that had acknowledged keeps its OK span, ended once.
      expect(replicationTo('replica-2').map((span) => span.status.code)).toEqual([SpanStatusCode.UNSET]);
    });
  });

  describe('fence checks', () => {
    it('applies a followed fenced write in a FenceCheck span, child of its operation, saying whether it got past', () => {
      const traces = newTraces();
      const accepted = operationSpan();
      const refused = operationSpan();
      under(accepted, () => traces.proposed(1n, true));
      under(refused, () => traces.proposed(2n, true));
      const apply = jest.fn((outcome: Outcome) => outcome);

      expect(traces.applying(1n, () => apply({ accepted: true }))).toEqual({ accepted: true });
      expect(traces.applying(2n, () => apply({ accepted: false }))).toEqual({ accepted: false });
      expect(apply).toHaveBeenCalledTimes(2);
      const spans = finishedNamed(fenceCheck);
      expect(spans).toHaveLength(2);
      expect(spans[0]?.parentSpanContext?.spanId).toBe(accepted.spanContext().spanId);
      expect(spans[0]?.spanContext().traceId).toBe(accepted.spanContext().traceId);
      expect(spans[0]?.attributes['bulwark.fence.accepted']).toBe(true);
      expect(spans[1]?.parentSpanContext?.spanId).toBe(refused.spanContext().spanId);
      expect(spans[1]?.attributes['bulwark.fence.accepted']).toBe(false);
    });

    it('applies a write without a fence, or not followed, as it is, in no span', () => {
      const traces = newTraces();
      under(operationSpan(), () => traces.proposed(1n, false));
      traces.proposed(2n, true);
      expect(traces.applying(1n, () => ({ accepted: true }))).toEqual({ accepted: true });
      expect(traces.applying(2n, () => ({ accepted: false }))).toEqual({ accepted: false });
      expect(traces.applying(3n, () => ({ accepted: true }))).toEqual({ accepted: true });
      expect(exporter.getFinishedSpans()).toEqual([]);
    });

    it('ends the FenceCheck span when applying throws, and rethrows', () => {
      const traces = newTraces();
      under(operationSpan(), () => traces.proposed(1n, true));
      expect(() =>
        traces.applying(1n, () => {
          throw new RangeError('corrupt entry');
        }),
      ).toThrow('corrupt entry');
      expect(finishedNamed(fenceCheck)).toHaveLength(1);
    });
  });

  describe('WAL appends', () => {
    it('links the append span to the followed writes among its entries, as a root of its own', () => {
      const traces = newTraces();
      const first = operationSpan();
      const third = operationSpan();
      under(first, () => traces.proposed(1n, false));
      under(third, () => traces.proposed(3n, false));
      const span = under(operationSpan(), () => traces.persisting(entries(1n, 2n, 3n, 4n)));
      expect(span).toBeDefined();
      // The runner ends it when the write is durable.
      expect(finishedNamed(walAppend)).toEqual([]);
      span?.end();
      const [append] = finishedNamed(walAppend);
      expect(append?.kind).toBe(SpanKind.INTERNAL);
      expect(append?.parentSpanContext).toBeUndefined();
      expect(append?.links.map((link) => link.context.spanId)).toEqual([
        first.spanContext().spanId,
        third.spanContext().spanId,
      ]);
      expect(append?.attributes).toEqual({ 'bulwark.wal.entries': 4, 'bulwark.batch.operations': 2 });
    });

    it('starts no append span for entries none of which is followed', () => {
      const traces = newTraces();
      expect(traces.persisting(entries(1n))).toBeUndefined();
      under(operationSpan(), () => traces.proposed(1n, false));
      expect(traces.persisting(entries(2n, 3n))).toBeUndefined();
      expect(traces.persisting([])).toBeUndefined();
      expect(exporter.getFinishedSpans()).toEqual([]);
    });
  });

  describe('bounds', () => {
    it(`follows at most ${tracedWritesMax} writes: the oldest is forgotten, its spans ending unacknowledged`, () => {
      const traces = newTraces();
      const parent = operationSpan();
      under(parent, () => {
        for (let sequence = 1n; sequence <= BigInt(tracedWritesMax); sequence++) traces.proposed(sequence, false);
      });
      const [oldest] = traces.replicating('replica-2', entries(1n));
      const [second] = traces.replicating('replica-2', entries(2n));
      expect(traces.followed.writes).toBe(tracedWritesMax);

      under(parent, () => traces.proposed(BigInt(tracedWritesMax) + 1n, false));
      expect(traces.followed.writes).toBe(tracedWritesMax);
      const forgotten = finishedNamed(replicate);
      expect(spanIdsOf(forgotten)).toEqual([spanContextFrom(oldest)?.spanId]);
      expect(forgotten[0]?.attributes['bulwark.replication.acknowledged']).toBe(false);
      expect(forgotten[0]?.attributes).not.toHaveProperty('rpc.grpc.status_code');
      expect(traces.replicating('replica-2', entries(1n))).toEqual([]);
      // The next oldest is still followed.
      expect(traces.replicating('replica-2', entries(2n))).toEqual([second]);
    });

    it(`forgets a write ${tracedAgeMaxMs} ms after it was proposed, when the next one is`, () => {
      const clock = { nowMs: 5_000 };
      const traces = newTraces(clock);
      under(operationSpan(), () => traces.proposed(1n, false));
      const [old] = traces.replicating('replica-2', entries(1n));
      clock.nowMs += tracedAgeMaxMs - 1;
      under(operationSpan(), () => traces.proposed(2n, false));
      expect(traces.followed.writes).toBe(2);
      expect(finishedNamed(replicate)).toEqual([]);

      clock.nowMs += 1;
      under(operationSpan(), () => traces.proposed(3n, false));
      expect(traces.followed.writes).toBe(2);
      const forgotten = finishedNamed(replicate);
      expect(spanIdsOf(forgotten)).toEqual([spanContextFrom(old)?.spanId]);
      expect(forgotten[0]?.attributes['bulwark.replication.acknowledged']).toBe(false);
      expect(traces.replicating('replica-2', entries(1n))).toEqual([]);
      expect(traces.replicating('replica-2', entries(2n, 3n))).toHaveLength(2);
    });

    it('ends the spans of a write whose sequence is proposed again (a new epoch took it over)', () => {
      const traces = newTraces();
      const before = operationSpan();
      const after = operationSpan();
      under(before, () => traces.proposed(1n, false));
      const [old] = traces.replicating('replica-2', entries(1n));
      under(after, () => traces.proposed(1n, true));
      expect(traces.followed.writes).toBe(1);
      const ended = finishedNamed(replicate);
      expect(spanIdsOf(ended)).toEqual([spanContextFrom(old)?.spanId]);
      expect(ended[0]?.attributes['bulwark.replication.acknowledged']).toBe(false);

      const [again] = traces.replicating('replica-2', entries(1n));
      expect(spanContextFrom(again)?.traceId).toBe(after.spanContext().traceId);
      // The new proposal is the fenced one.
      traces.applying(1n, () => ({ accepted: true }));
      expect(finishedNamed(fenceCheck)[0]?.parentSpanContext?.spanId).toBe(after.spanContext().spanId);
    });
  });
});

describe('WriteTraces across ticks and changes of role', () => {
  it('forgets old writes and received batches on the tick, with nothing new proposed or received', () => {
    const clock = { nowMs: 0 };
    const traces = newTraces(clock);
    under(operationSpan(), () => traces.proposed(1n, false));
    traces.replicating('replica-2', entries(1n));
    const client = under(operationSpan(), () => tracer.startSpan(replicate, { kind: SpanKind.CLIENT }));
    traces.received('replica-1', 5n, [traceContextOf(client) as commonV1.TraceContext]);
    traces.expire(tracedAgeMaxMs - 1);
    expect(traces.followed).toEqual({ writes: 1, batches: 1 });

    traces.expire(tracedAgeMaxMs);
    expect(traces.followed).toEqual({ writes: 0, batches: 0 });
    expect(
      finishedNamed(replicate)
        .map((span) => span.kind)
        .sort(),
    ).toEqual([SpanKind.SERVER, SpanKind.CLIENT].sort());
  });

  it('ends everything it follows when the member changes role or epoch', () => {
    const traces = newTraces();
    under(operationSpan(), () => traces.proposed(1n, false));
    traces.replicating('replica-2', entries(1n));
    traces.replicating('replica-3', entries(1n));
    traces.reset();
    expect(traces.followed).toEqual({ writes: 0, batches: 0 });
    expect(finishedNamed(replicate)).toHaveLength(2);
    for (const span of finishedNamed(replicate)) {
      expect(span.attributes['bulwark.replication.acknowledged']).toBe(false);
    }
    // A later acknowledgement of the old sequence finds nothing to end.
    traces.acknowledged('replica-2', 1n);
    expect(finishedNamed(replicate)).toHaveLength(2);
  });

  it('ends acknowledged spans in sequence order, and only those, however many a backup left open', () => {
    const traces = newTraces();
    under(operationSpan(), () => {
      for (let sequence = 1n; sequence <= 5n; sequence++) traces.proposed(sequence, false);
    });
    traces.replicating('replica-2', entries(1n, 2n, 3n, 4n, 5n));
    traces.settled(2n, new Error('the primary lost its lease'));
    traces.acknowledged('replica-2', 3n);
    const ended = replicationTo('replica-2');
    expect(ended).toHaveLength(3);
    // 2 ended with its failure; 1 and 3 when acknowledged.
    expect(ended.filter((span) => span.attributes['rpc.grpc.status_code'] === 0)).toHaveLength(2);
    traces.acknowledged('replica-2', 5n);
    expect(replicationTo('replica-2')).toHaveLength(5);
  });
});

describe('WriteTraces on a backup', () => {
  /** Trace contexts as a primary sends them: its replication spans of sampled writes. */
  function primaryTraces(count: number): commonV1.TraceContext[] {
    return Array.from({ length: count }, () => {
      const span = tracer.startSpan(replicate, { kind: SpanKind.CLIENT }, ROOT_CONTEXT);
      const traceContext = traceContextOf(span);
      if (!traceContext) throw new Error('the test tracer samples every root span');
      return traceContext;
    });
  }
  const received = () => finishedNamed(replicate).filter((span) => span.kind === SpanKind.SERVER);

  it('spans a received batch, linked to the primary spans it carried, until it is acknowledged through its last entry', () => {
    const traces = newTraces();
    const carried = primaryTraces(2);
    traces.received('replica-1', 5n, carried);
    expect(received()).toEqual([]);

    traces.acknowledging('replica-9', 5n);
    traces.acknowledging('replica-1', 4n);
    expect(received()).toEqual([]);

    traces.acknowledging('replica-1', 5n);
    const [span] = received();
    expect(received()).toHaveLength(1);
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.links.map((link) => link.context)).toEqual(
      carried.map((traceContext) => spanContextFrom(traceContext)),
    );
    expect(span?.attributes).toEqual({
      'rpc.system': 'grpc',
      'rpc.service': 'replication.v1.Replication',
      'rpc.method': 'Replicate',
      'bulwark.replica.primary': 'replica-1',
      'bulwark.batch.operations': 2,
    });
    // Once.
    traces.acknowledging('replica-1', 10n);
    expect(received()).toHaveLength(1);
  });

  it('ends each batch by its own last entry, and only for the primary that sent it', () => {
    const traces = newTraces();
    const [first, second, third] = primaryTraces(3).map((traceContext) => [traceContext]);
    traces.received('replica-1', 3n, first!);
    traces.received('replica-1', 6n, second!);
    traces.received('replica-2', 2n, third!);

    traces.acknowledging('replica-1', 4n);
    expect(received().map((span) => span.links[0]?.context.spanId)).toEqual([spanContextFrom(first![0])?.spanId]);
    traces.acknowledging('replica-1', 6n);
    expect(received()).toHaveLength(2);
    traces.acknowledging('replica-2', 2n);
    expect(received().map((span) => span.attributes['bulwark.replica.primary'])).toEqual([
      'replica-1',
      'replica-1',
      'replica-2',
    ]);
  });

  it('spans no batch without a sampled trace in it', () => {
    const traces = newTraces();
    traces.received('replica-1', 1n, []);
    traces.received('replica-1', 2n, [
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00', tracestate: '' },
      { traceparent: 'garbage', tracestate: '' },
      { traceparent: '', tracestate: '' },
    ]);
    traces.acknowledging('replica-1', 10n);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it(`keeps at most ${tracedBatchesMax} batches waiting: the oldest ends when another arrives`, () => {
    const traces = newTraces();
    const carried = primaryTraces(tracedBatchesMax + 1);
    exporter.reset();
    carried.slice(0, tracedBatchesMax).forEach((traceContext, index) => {
      traces.received('replica-1', BigInt(index + 1), [traceContext]);
    });
    expect(received()).toEqual([]);

    traces.received('replica-1', BigInt(tracedBatchesMax + 1), [carried[tracedBatchesMax]!]);
    expect(received().map((span) => span.links[0]?.context.spanId)).toEqual([spanContextFrom(carried[0])?.spanId]);

    traces.acknowledging('replica-1', BigInt(tracedBatchesMax + 1));
    expect(received()).toHaveLength(tracedBatchesMax + 1);
    expect(new Set(received().map((span) => span.links[0]?.context.spanId)).size).toBe(tracedBatchesMax + 1);
  });
});

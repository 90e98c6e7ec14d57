// A sampled coordinator command's Paxos round as spans: the round under the
// command's span, an accept span per peer under the round, and the leader's
// durable write linked to the rounds it carried; bounded in count.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, trace, type Span } from '@opentelemetry/api';
import { type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Accept, Accepted, Ballot, Entry, Heartbeat, Message, PersistBatch, Prepare } from '@bulwark/paxos';
import { PaxosTraces, tracedRoundsMax } from './paxos-traces';
import { RecordingTracer, enableAsyncContext } from '@bulwark/rpc/testing';

const { exporter, tracer } = new RecordingTracer();

const roundName = 'bulwark.paxos/Round';
const acceptName = 'paxos.v1.Paxos/Accept';
const persistName = 'bulwark.paxos/Persist';

const leader = 'coordinator-1';
const ballot: Ballot = { round: 3n, nodeId: leader };
const addresses: Record<string, string> = {
  'coordinator-2': 'coordinator-2:7002',
  'coordinator-3': 'coordinator-3:7003',
};

const newTraces = () => new PaxosTraces((memberId) => addresses[memberId], tracer);

const entry = (slot: bigint): Entry => ({ slot, command: new Uint8Array([7]) });
const accept = (to: string, ...slots: bigint[]): Accept => ({
  type: 'accept',
  from: leader,
  to,
  ballot,
  entries: slots.map(entry),
  commitSlot: 0n,
});
const accepted = (from: string, ...slots: bigint[]): Accepted => ({
  type: 'accepted',
  from,
  to: leader,
  ballot,
  slots,
});
const prepare = (to: string): Prepare => ({ type: 'prepare', from: leader, to, ballot, firstOpenSlot: 1n });
const heartbeat = (to: string): Heartbeat => ({
  type: 'heartbeat',
  from: leader,
  to,
  ballot,
  commitSlot: 0n,
  sentTick: 1n,
});

/** A sampled span of the test's trace, standing for the coordinator command's span. */
const commandSpan = (): Span => tracer.startSpan('coordinator.v1.Coordinator/CreateGroup', {}, ROOT_CONTEXT);

/** Proposes slot with parent as the active span (how the runner proposes, inside its caller's span). */
function proposeUnder(traces: PaxosTraces, parent: Span, slot: bigint): void {
  context.with(trace.setSpan(ROOT_CONTEXT, parent), () => traces.proposed(slot, ballot));
}

function finishedNamed(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.name === name);
}

const acceptsTo = (peer: string) =>
  finishedNamed(acceptName).filter((span) => span.attributes['bulwark.paxos.peer'] === peer);

let disableAsyncContext: () => void;

beforeAll(() => (disableAsyncContext = enableAsyncContext()));

afterAll(() => disableAsyncContext());
beforeEach(() => exporter.reset());

describe('PaxosTraces', () => {
  describe('rounds', () => {
    it('spans a round proposed in a sampled span as its child, naming slot and ballot, until it settles', () => {
      const traces = newTraces();
      const parent = commandSpan();
      proposeUnder(traces, parent, 7n);
      expect(traces.followed).toBe(1);
      expect(finishedNamed(roundName)).toEqual([]);

      traces.settled(7n);
      expect(traces.followed).toBe(0);
      const [round] = finishedNamed(roundName);
      expect(finishedNamed(roundName)).toHaveLength(1);
      expect(round?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(round?.spanContext().traceId).toBe(parent.spanContext().traceId);
      expect(round?.attributes).toEqual({
        'bulwark.paxos.slot': '7',
        'bulwark.paxos.ballot.round': '3',
        'bulwark.paxos.ballot.node_id': leader,
      });
      expect(round?.status.code).toBe(SpanStatusCode.UNSET);
      // Settling again, or a slot not followed, ends nothing more.
      traces.settled(7n);
      traces.settled(8n);
      expect(exporter.getFinishedSpans()).toHaveLength(1);
    });

    it('marks a round whose proposer was told it failed ERROR with the failure', () => {
      const traces = newTraces();
      proposeUnder(traces, commandSpan(), 7n);
      traces.settled(7n, new Error('not committed within 5000 ms; the outcome is unknown'));
      const [round] = finishedNamed(roundName);
      expect(round?.status).toEqual({
        code: SpanStatusCode.ERROR,
        message: 'not committed within 5000 ms; the outcome is unknown',
      });
    });

    it('follows no round proposed outside any span or in an unsampled one', () => {
      const traces = newTraces();
      traces.proposed(1n, ballot);
      const unsampled = trace.wrapSpanContext({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.NONE,
      });
      proposeUnder(traces, unsampled, 2n);
      expect(traces.followed).toBe(0);
      traces.sending([accept('coordinator-2', 1n, 2n)]);
      traces.received(accepted('coordinator-2', 1n, 2n));
      expect(traces.persisting({ accepted: [], chosen: [entry(1n), entry(2n)] })).toBeUndefined();
      traces.settled(1n);
      traces.settled(2n);
      expect(exporter.getFinishedSpans()).toEqual([]);
    });
  });

  describe('accepts', () => {
    it('spans the accept to each peer as a client span under the round, until that peer answers', () => {
      const traces = newTraces();
      const parent = commandSpan();
      proposeUnder(traces, parent, 7n);
      traces.sending([accept('coordinator-2', 7n), accept('coordinator-3', 7n)]);
      expect(finishedNamed(acceptName)).toEqual([]);

      traces.received(accepted('coordinator-2', 7n));
      const answered = acceptsTo('coordinator-2');
      expect(finishedNamed(acceptName)).toHaveLength(1);
      expect(answered).toHaveLength(1);
      expect(answered[0]?.kind).toBe(SpanKind.CLIENT);
      expect(answered[0]?.spanContext().traceId).toBe(parent.spanContext().traceId);
      expect(answered[0]?.status.code).toBe(SpanStatusCode.UNSET);
      expect(answered[0]?.attributes).toEqual({
        'rpc.system': 'grpc',
        'rpc.service': 'paxos.v1.Paxos',
        'rpc.method': 'Accept',
        'server.address': 'coordinator-2',
        'server.port': 7002,
        'bulwark.paxos.peer': 'coordinator-2',
        'rpc.grpc.status_code': 0,
      });

      traces.settled(7n);
      const [round] = finishedNamed(roundName);
      expect(answered[0]?.parentSpanContext?.spanId).toBe(round?.spanContext().spanId);
      // The peer that never answered ends with the round, unanswered.
      const unanswered = acceptsTo('coordinator-3');
      expect(unanswered).toHaveLength(1);
      expect(unanswered[0]?.parentSpanContext?.spanId).toBe(round?.spanContext().spanId);
      expect(unanswered[0]?.attributes['bulwark.paxos.answered']).toBe(false);
      expect(unanswered[0]?.attributes).not.toHaveProperty('rpc.grpc.status_code');
      expect(answered[0]?.attributes).not.toHaveProperty('bulwark.paxos.answered');
    });

    it('starts no second accept span when the slot is sent to a peer again, answered or not', () => {
      const traces = newTraces();
      proposeUnder(traces, commandSpan(), 7n);
      traces.sending([accept('coordinator-2', 7n), accept('coordinator-3', 7n)]);
      traces.sending([accept('coordinator-2', 7n), accept('coordinator-3', 7n)]);
      traces.received(accepted('coordinator-2', 7n));
      // Resent after coordinator-2 answered: still not started again.
      traces.sending([accept('coordinator-2', 7n)]);
      traces.received(accepted('coordinator-2', 7n));
      traces.settled(7n);
      expect(acceptsTo('coordinator-2')).toHaveLength(1);
      expect(acceptsTo('coordinator-3')).toHaveLength(1);
    });

    it('spans each followed slot an accept carries, and none for slots or messages not followed', () => {
      const traces = newTraces();
      const first = commandSpan();
      const second = commandSpan();
      proposeUnder(traces, first, 7n);
      proposeUnder(traces, second, 8n);
      const messages: Message[] = [
        prepare('coordinator-2'),
        heartbeat('coordinator-2'),
        accept('coordinator-2', 6n, 7n, 8n, 9n),
      ];
      traces.sending(messages);
      // Only Accepted answers: a heartbeat reply or a reject from the peer ends nothing.
      traces.received({ type: 'reject', from: 'coordinator-2', to: leader, promised: ballot });
      traces.received({
        type: 'heartbeatReply',
        from: 'coordinator-2',
        to: leader,
        ballot,
        sentTick: 1n,
        commitSlot: 0n,
      });
      expect(finishedNamed(acceptName)).toEqual([]);

      traces.received(accepted('coordinator-2', 6n, 7n, 8n, 9n));
      const spans = acceptsTo('coordinator-2');
      expect(spans.map((span) => span.spanContext().traceId)).toEqual([
        first.spanContext().traceId,
        second.spanContext().traceId,
      ]);
      expect(spans.map((span) => span.attributes['rpc.grpc.status_code'])).toEqual([0, 0]);
    });

    it("takes no Accepted of another ballot for an answer, nor sends one's accepts in the round's name", () => {
      const traces = newTraces();
      proposeUnder(traces, commandSpan(), 7n);
      const later = { round: ballot.round + 1n, nodeId: 'coordinator-2' };
      traces.sending([{ ...accept('coordinator-3', 7n), ballot: later }]);
      expect(acceptsTo('coordinator-3')).toEqual([]);
      traces.sending([accept('coordinator-2', 7n)]);
      traces.received({ ...accepted('coordinator-2', 7n), ballot: later });
      expect(finishedNamed(acceptName)).toEqual([]);
      traces.received(accepted('coordinator-2', 7n));
      expect(acceptsTo('coordinator-2')).toHaveLength(1);
    });

    it('ends the old round of a slot proposed again', () => {
      const traces = newTraces();
      proposeUnder(traces, commandSpan(), 7n);
      proposeUnder(traces, commandSpan(), 7n);
      expect(traces.followed).toBe(1);
      const [old] = finishedNamed(roundName);
      expect(old?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'proposed again in a later ballot' });
    });

    it('ends an accept span only for the peer and slots its Accepted names', () => {
      const traces = newTraces();
      proposeUnder(traces, commandSpan(), 7n);
      proposeUnder(traces, commandSpan(), 8n);
      traces.sending([accept('coordinator-2', 7n, 8n), accept('coordinator-3', 7n, 8n)]);
      traces.received(accepted('coordinator-3', 8n));
      expect(acceptsTo('coordinator-3')).toHaveLength(1);
      expect(acceptsTo('coordinator-2')).toEqual([]);
      // An answer from a member the slot never went to ends nothing.
      traces.received(accepted('coordinator-4', 7n, 8n));
      expect(finishedNamed(acceptName)).toHaveLength(1);
    });
  });

  describe('persisting', () => {
    it("links the leader's durable write to the followed rounds it carries, as a root of its own", () => {
      const traces = newTraces();
      proposeUnder(traces, commandSpan(), 7n);
      proposeUnder(traces, commandSpan(), 8n);
      const batch: PersistBatch = {
        promised: ballot,
        accepted: [
          { ...entry(7n), ballot },
          { ...entry(9n), ballot },
        ],
        chosen: [entry(8n)],
        commitSlot: 8n,
      };
      const span = context.with(trace.setSpan(ROOT_CONTEXT, commandSpan()), () => traces.persisting(batch));
      expect(span).toBeDefined();
      expect(finishedNamed(persistName)).toEqual([]);
      span?.end();
      traces.settled(7n);
      traces.settled(8n);

      const [persist] = finishedNamed(persistName);
      const rounds = finishedNamed(roundName);
      expect(persist?.kind).toBe(SpanKind.INTERNAL);
      expect(persist?.parentSpanContext).toBeUndefined();
      expect(persist?.links.map((link) => link.context.spanId)).toEqual(
        rounds.map((round) => round.spanContext().spanId),
      );
      expect(persist?.attributes).toEqual({ 'bulwark.paxos.entries': 3, 'bulwark.batch.operations': 2 });
    });

    it('starts no span for a write that carries no followed round', () => {
      const traces = newTraces();
      expect(traces.persisting({ accepted: [{ ...entry(7n), ballot }], chosen: [] })).toBeUndefined();
      proposeUnder(traces, commandSpan(), 7n);
      expect(traces.persisting({ promised: ballot, accepted: [], chosen: [] })).toBeUndefined();
      expect(traces.persisting({ accepted: [{ ...entry(9n), ballot }], chosen: [entry(10n)] })).toBeUndefined();
      expect(finishedNamed(persistName)).toEqual([]);
    });
  });

  describe('bounds', () => {
    it(`follows at most ${tracedRoundsMax} rounds: the oldest ends failed, its open accepts unanswered`, () => {
      const traces = newTraces();
      const parent = commandSpan();
      for (let slot = 1n; slot <= BigInt(tracedRoundsMax); slot++) proposeUnder(traces, parent, slot);
      traces.sending([accept('coordinator-2', 1n, 2n)]);
      expect(traces.followed).toBe(tracedRoundsMax);
      expect(exporter.getFinishedSpans()).toEqual([]);

      proposeUnder(traces, parent, BigInt(tracedRoundsMax) + 1n);
      expect(traces.followed).toBe(tracedRoundsMax);
      const [oldest] = finishedNamed(roundName);
      expect(finishedNamed(roundName)).toHaveLength(1);
      expect(oldest?.attributes['bulwark.paxos.slot']).toBe('1');
      expect(oldest?.status).toEqual({
        code: SpanStatusCode.ERROR,
        message: 'no longer followed: too many rounds in flight',
      });
      const [unanswered] = acceptsTo('coordinator-2');
      expect(acceptsTo('coordinator-2')).toHaveLength(1);
      expect(unanswered?.parentSpanContext?.spanId).toBe(oldest?.spanContext().spanId);
      expect(unanswered?.attributes['bulwark.paxos.answered']).toBe(false);

      // Slot 2 is still followed: its accept ends when answered.
      traces.received(accepted('coordinator-2', 1n, 2n));
      expect(acceptsTo('coordinator-2')).toHaveLength(2);
      expect(acceptsTo('coordinator-2')[1]?.attributes['rpc.grpc.status_code']).toBe(0);
    });
  });
});

// The Paxos round of a sampled coordinator command, as spans: the round
// (propose to commit) as a child of the command's span (active when it is
// proposed); under it, per peer, the accept from when the slot first goes
// to that peer until it answers Accepted (a peer outvoted before it answers
// ends unanswered with the round); and the leader's own durable write, a
// group commit linked to every sampled round it carried. Only sampled
// rounds are kept, at most tracedRoundsMax.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  trace,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { Ballot, Entry, Message, PersistBatch } from '@bulwark/paxos';
import { endRpcSpan, rpcAttributes, startBatchSpan } from '@bulwark/rpc';

/** Sampled rounds followed at once (each ends by the proposal timeout anyway). */
export const tracedRoundsMax = 1_024;

const paxosService = 'paxos.v1.Paxos';

interface TracedRound {
  readonly span: Span;
  /** Accept spans still waiting for their peer's answer, by peer. */
  readonly accepts: Map<string, Span>;
  /** Peers the slot went to already (an answered peer is not started again by a resend). */
  readonly sentTo: Set<string>;
}

export class PaxosTraces {
  private readonly rounds = new Map<bigint, TracedRound>();
  private readonly tracer: Tracer;

  constructor(
    private readonly addressOf: (memberId: string) => string | undefined = () => undefined,
    tracer?: Tracer,
  ) {
    this.tracer = tracer ?? trace.getTracer('bulwark-coordinator');
  }

  /** Rounds followed now (for tests and bounds). */
  get followed(): number {
    return this.rounds.size;
  }

  /** A command was proposed at slot, in its caller's span (the active context). */
  proposed(slot: bigint, ballot: Ballot): void {
    const parent = trace.getSpanContext(context.active());
    if (!parent || (parent.traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.rounds.size >= tracedRoundsMax) {
      const [oldest] = this.rounds.keys();
      if (oldest !== undefined) this.settled(oldest, new Error('no longer followed: too many rounds in flight'));
    }
    const span = this.tracer.startSpan('bulwark.paxos/Round', {
      attributes: {
        'bulwark.paxos.slot': Number(slot),
        'bulwark.paxos.ballot.round': Number(ballot.round),
        'bulwark.paxos.ballot.node_id': ballot.nodeId,
      },
    });
    this.rounds.set(slot, { span, accepts: new Map(), sentTo: new Set() });
  }

  /** Messages going out: an Accept carrying a followed slot starts that peer's accept span. */
  sending(messages: readonly Message[]): void {
    if (this.rounds.size === 0) return;
    for (const message of messages) {
      if (message.type !== 'accept') continue;
      for (const entry of message.entries) this.acceptSent(entry, message.to);
    }
  }

  /** A message came in: Accepted from a peer ends its accept spans of those slots. */
  received(message: Message): void {
    if (this.rounds.size === 0 || message.type !== 'accepted') return;
    for (const slot of message.slots) {
      const round = this.rounds.get(slot);
      const span = round?.accepts.get(message.from);
      if (!round || !span) continue;
      round.accepts.delete(message.from);
      endRpcSpan(span);
    }
  }

  /** A span for this member's durable write of batch, linked to the followed rounds it carries; none without. */
  persisting(batch: PersistBatch): Span | undefined {
    if (this.rounds.size === 0) return undefined;
    const slots = [...batch.accepted, ...batch.chosen].map((entry) => entry.slot);
    const rounds: Array<SpanContext | undefined> = slots.map((slot) => this.rounds.get(slot)?.span.spanContext());
    return startBatchSpan(this.tracer, 'bulwark.paxos/Persist', SpanKind.INTERNAL, rounds, {
      'bulwark.paxos.entries': slots.length,
    });
  }

  /** The round at slot ended: committed (no failure), or its proposer was told it failed. */
  settled(slot: bigint, failure?: Error): void {
    const round = this.rounds.get(slot);
    if (!round) return;
    this.rounds.delete(slot);
    for (const span of round.accepts.values()) {
      span.setAttribute('bulwark.paxos.answered', false);
      span.end();
    }
    if (failure) round.span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
    round.span.end();
  }

  private acceptSent(entry: Entry, peer: string): void {
    const round = this.rounds.get(entry.slot);
    if (!round || round.sentTo.has(peer)) return;
    round.sentTo.add(peer);
    const span = this.tracer.startSpan(
      `${paxosService}/Accept`,
      {
        kind: SpanKind.CLIENT,
        attributes: { ...rpcAttributes(paxosService, 'Accept', this.addressOf(peer)), 'bulwark.paxos.peer': peer },
      },
      trace.setSpan(ROOT_CONTEXT, round.span),
    );
    round.accepts.set(peer, span);
  }
}

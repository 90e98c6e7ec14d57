// The Paxos round of a sampled coordinator command, as spans: the round
// (propose to commit) as a child of the command's span (active when it is
// proposed); under it, per peer, the accept from when the slot first goes
// to that peer until it answers Accepted (a peer outvoted before it answers
// ends unanswered with the round); and the leader's own durable write, a
// group commit linked to every sampled round it carried. Only sampled
// rounds are kept, at most tracedRoundsMax. Never throws into the runner: a
// tracing fault is logged, not fatal.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { ballotsEqual, type Ballot, type Entry, type Message, type PersistBatch } from '@bulwark/paxos';
import { endRpcSpan, isSampled, rpcAttributes, startBatchSpan, tracingSafely } from '@bulwark/rpc';

/** Sampled rounds followed at once (each ends by the proposal timeout anyway). */
export const tracedRoundsMax = 1_024;

const paxosService = 'paxos.v1.Paxos';

interface TracedRound {
  readonly span: Span;
  /** The ballot it was proposed in: an Accepted of another ballot is not an answer to it. */
  readonly ballot: Ballot;
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
    if (!isSampled(parent)) return;
    tracingSafely(
      'proposed',
      () => {
        // A slot proposed again (this member led again after losing it): the old round ends here.
        this.settled(slot, new Error('proposed again in a later ballot'));
        if (this.rounds.size >= tracedRoundsMax) {
          const [oldest] = this.rounds.keys();
          if (oldest !== undefined) this.settled(oldest, new Error('no longer followed: too many rounds in flight'));
        }
        const span = this.tracer.startSpan('bulwark.paxos/Round', {
          attributes: {
            // 64-bit: strings, as the contracts carry them.
            'bulwark.paxos.slot': String(slot),
            'bulwark.paxos.ballot.round': String(ballot.round),
            'bulwark.paxos.ballot.node_id': ballot.nodeId,
          },
        });
        this.rounds.set(slot, { span, ballot, accepts: new Map(), sentTo: new Set() });
      },
      undefined,
    );
  }

  /** Messages going out: an Accept carrying a followed slot starts that peer's accept span. */
  sending(messages: readonly Message[]): void {
    if (this.rounds.size === 0) return;
    tracingSafely(
      'sending',
      () => {
        for (const message of messages) {
          if (message.type !== 'accept') continue;
          for (const entry of message.entries) this.acceptSent(entry, message.to, message.ballot);
        }
      },
      undefined,
    );
  }

  /** A message came in: Accepted from a peer ends its accept spans of those slots. */
  received(message: Message): void {
    if (this.rounds.size === 0 || message.type !== 'accepted') return;
    tracingSafely(
      'received',
      () => {
        for (const slot of message.slots) {
          const round = this.rounds.get(slot);
          const span = round?.accepts.get(message.from);
          if (!round || !span || !ballotsEqual(round.ballot, message.ballot)) continue;
          round.accepts.delete(message.from);
          endRpcSpan(span);
        }
      },
      undefined,
    );
  }

  /** A span for this member's durable write of batch, linked to the followed rounds it carries; none without. */
  persisting(batch: PersistBatch): Span | undefined {
    if (this.rounds.size === 0) return undefined;
    return tracingSafely(
      'persisting',
      () => {
        const slots = [...batch.accepted, ...batch.chosen].map((entry) => entry.slot);
        const rounds: Array<SpanContext | undefined> = slots.map((slot) => this.rounds.get(slot)?.span.spanContext());
        return startBatchSpan(this.tracer, 'bulwark.paxos/Persist', SpanKind.INTERNAL, rounds, {
          'bulwark.paxos.entries': slots.length,
        });
      },
      undefined,
    );
  }

  /** The round at slot ended: committed (no failure), or its proposer was told it failed. */
  settled(slot: bigint, failure?: Error): void {
    const round = this.rounds.get(slot);
    if (!round) return;
    this.rounds.delete(slot);
    tracingSafely(
      'settled',
      () => {
        for (const span of round.accepts.values()) {
          span.setAttribute('bulwark.paxos.answered', false);
          span.end();
        }
        if (failure) round.span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
        round.span.end();
      },
      undefined,
    );
  }

  private acceptSent(entry: Entry, peer: string, ballot: Ballot): void {
    const round = this.rounds.get(entry.slot);
    if (!round || round.sentTo.has(peer) || !ballotsEqual(round.ballot, ballot)) return;
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

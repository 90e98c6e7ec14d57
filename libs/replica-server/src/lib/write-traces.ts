// The spans of a member's sampled writes after the shard.v1 operation's own
// span (which is active when the runner proposes). On the primary: the
// group-commit WAL append, linked to every sampled write it carried; a
// fenced write's fence check, where the entry is applied; and per backup a
// replication span of the write, from when its entry first goes to that
// backup until the backup acknowledges it on disk. On a backup: one span
// per received batch that carried sampled writes, linked to the primary's
// replication spans of them, until its acknowledgement goes back.
//
// Bounded in count and age: writes no backup acknowledges (async mode, a
// backup away) end unacknowledged when evicted, and a change of role or
// epoch ends everything followed (the sequences may be taken over). Never
// throws into the runner: a tracing fault is logged, not fatal.
import { performance } from 'node:perf_hooks';
import { ROOT_CONTEXT, SpanKind, context, trace, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import type { commonV1 } from '@bulwark/contracts';
import type { LogEntry } from '@bulwark/replication';
import {
  endRpcSpan,
  isSampled,
  rpcAttributes,
  spanContextFrom,
  startBatchSpan,
  traceContextOf,
  tracingSafely,
} from '@bulwark/rpc';

/** Sampled writes followed at once. */
export const tracedWritesMax = 4_096;
/** Received batches with sampled writes waiting for their acknowledgement, on a backup. */
export const tracedBatchesMax = 1_024;
/** A write or a received batch is forgotten this long after it began, acknowledged or not. */
export const tracedAgeMaxMs = 60_000;

const replicationService = 'replication.v1.Replication';

interface TracedWrite {
  /** The operation's span: the parent of the write's other spans. */
  readonly operation: SpanContext;
  readonly fenced: boolean;
  readonly proposedAtMs: number;
  /** Open replication spans, by backup. */
  readonly replication: Map<string, Span>;
  settled: boolean;
}

interface TracedBatch {
  readonly span: Span;
  readonly primary: string;
  readonly lastSequence: bigint;
  readonly receivedAtMs: number;
}

export interface WriteTracesOptions<Outcome> {
  /** Whether a fenced write's outcome got past its fence (false: the token was stale). */
  readonly fenceAccepted: (outcome: Outcome) => boolean;
  /** Where a member serves, for the replication spans' server address. */
  readonly addressOf?: (memberId: string) => string | undefined;
  readonly tracer?: Tracer;
  readonly clockMs?: () => number;
}

/** What the replication transport uses: nothing that depends on the state machine's outcomes. */
export type ReplicationTraces = Pick<WriteTraces<unknown>, 'replicating' | 'acknowledging' | 'received'>;

export class WriteTraces<Outcome> {
  /** By sequence, in the order proposed: sequence order within an epoch (a change of epoch clears it). */
  private readonly writes = new Map<bigint, TracedWrite>();
  /** Per backup, the writes whose replication span to it is open, in sequence order. */
  private readonly awaitingAck = new Map<string, Array<{ sequence: bigint; span: Span }>>();
  private batches: TracedBatch[] = [];
  private readonly tracer: Tracer;
  private readonly clockMs: () => number;

  constructor(private readonly options: WriteTracesOptions<Outcome>) {
    this.tracer = options.tracer ?? trace.getTracer('bulwark-replica');
    this.clockMs = options.clockMs ?? (() => performance.now());
  }

  /** Sampled writes and received batches followed now (for tests and bounds). */
  get followed(): { writes: number; batches: number } {
    return { writes: this.writes.size, batches: this.batches.length };
  }

  /** The runner proposed a write at sequence, in its operation's span (the active context). */
  proposed(sequence: bigint, fenced: boolean): void {
    const operation = trace.getSpanContext(context.active());
    if (!isSampled(operation)) return;
    tracingSafely(
      'proposed',
      () => {
        this.expire(this.clockMs(), 1);
        const previous = this.writes.get(sequence);
        if (previous) this.forget(sequence, previous);
        this.writes.set(sequence, {
          operation,
          fenced,
          proposedAtMs: this.clockMs(),
          replication: new Map(),
          settled: false,
        });
      },
      undefined,
    );
  }

  /** Applies a committed entry; a sampled fenced write's apply is its fence check, in a span of its own. */
  applying(sequence: bigint, apply: () => Outcome): Outcome {
    const write = this.writes.get(sequence);
    if (!write?.fenced) return apply();
    const span = tracingSafely(
      'fence check',
      () => this.tracer.startSpan('bulwark.replica/FenceCheck', {}, this.parentOf(write)),
      undefined,
    );
    try {
      const outcome = apply();
      tracingSafely(
        'fence check',
        () => span?.setAttribute('bulwark.fence.accepted', this.options.fenceAccepted(outcome)),
        span,
      );
      return outcome;
    } finally {
      span?.end();
    }
  }

  /** A span for writing entries to the WAL (one fsync), linked to the sampled writes among them; none without. */
  persisting(entries: readonly LogEntry[]): Span | undefined {
    if (this.writes.size === 0) return undefined;
    return tracingSafely(
      'persisting',
      () =>
        startBatchSpan(
          this.tracer,
          'bulwark.replica/WALAppend',
          SpanKind.INTERNAL,
          entries.map((entry) => this.writes.get(entry.sequence)?.operation),
          { 'bulwark.wal.entries': entries.length },
        ),
      undefined,
    );
  }

  /** Trace contexts for entries going to backup: each sampled write's replication span to it, started the first time. */
  replicating(backup: string, entries: readonly LogEntry[]): commonV1.TraceContext[] {
    if (this.writes.size === 0) return [];
    return tracingSafely('replicating', () => this.replicationContexts(backup, entries), []);
  }

  /** backup has every entry through durableSequence on disk: their replication spans to it end. */
  acknowledged(backup: string, durableSequence: bigint): void {
    const awaiting = this.awaitingAck.get(backup);
    if (!awaiting || awaiting.length === 0) return;
    tracingSafely(
      'acknowledged',
      () => {
        let acknowledged = 0;
        while (acknowledged < awaiting.length && (awaiting[acknowledged]?.sequence ?? 0n) <= durableSequence) {
          const { sequence, span } = awaiting[acknowledged] as { sequence: bigint; span: Span };
          acknowledged++;
          // Ended already (the write failed, or was forgotten): nothing left to end.
          if (!this.isOpen(backup, { sequence, span })) continue;
          const write = this.writes.get(sequence) as TracedWrite;
          write.replication.delete(backup);
          endRpcSpan(span);
          if (write.settled && write.replication.size === 0) this.writes.delete(sequence);
        }
        awaiting.splice(0, acknowledged);
      },
      undefined,
    );
  }

  /**
   * The write at sequence was answered. Failed, its open replication spans
   * end with the failure; answered, they stay open for the backups still
   * to acknowledge it (async mode answers before they do).
   */
  settled(sequence: bigint, failure?: Error): void {
    const write = this.writes.get(sequence);
    if (!write) return;
    tracingSafely(
      'settled',
      () => {
        write.settled = true;
        if (failure) {
          for (const span of write.replication.values()) endRpcSpan(span, failure);
          write.replication.clear();
        }
        if (write.replication.size === 0) this.writes.delete(sequence);
      },
      undefined,
    );
  }

  /** On a backup: a batch from primary through lastSequence with these traces; its span ends when acknowledged. */
  received(primary: string, lastSequence: bigint, entryTraces: readonly commonV1.TraceContext[]): void {
    if (entryTraces.length === 0) return;
    tracingSafely(
      'received',
      () => {
        const nowMs = this.clockMs();
        this.expire(nowMs, 0);
        const span = startBatchSpan(
          this.tracer,
          `${replicationService}/Replicate`,
          SpanKind.SERVER,
          entryTraces.map(spanContextFrom),
          { ...rpcAttributes(replicationService, 'Replicate'), 'bulwark.replica.primary': primary },
        );
        if (!span?.isRecording()) return;
        if (this.batches.length >= tracedBatchesMax) this.batches.shift()?.span.end();
        this.batches.push({ span, primary, lastSequence, receivedAtMs: nowMs });
      },
      undefined,
    );
  }

  /** On a backup: its acknowledgement through durableSequence goes to primary, ending the batches it covers. */
  acknowledging(primary: string, durableSequence: bigint): void {
    if (this.batches.length === 0) return;
    tracingSafely(
      'acknowledging',
      () => {
        this.batches = this.batches.filter((batch) => {
          if (batch.primary !== primary || batch.lastSequence > durableSequence) return true;
          batch.span.end();
          return false;
        });
      },
      undefined,
    );
  }

  /** Ends what is older than tracedAgeMaxMs (the runner's tick calls it), so nothing is followed forever. */
  expire(nowMs: number, room = 0): void {
    if (this.writes.size === 0 && this.batches.length === 0) return;
    tracingSafely(
      'expire',
      () => {
        for (const [sequence, write] of this.writes) {
          const full = this.writes.size + room > tracedWritesMax;
          if (!full && nowMs - write.proposedAtMs < tracedAgeMaxMs) break;
          this.forget(sequence, write);
        }
        while (this.batches.length > 0 && nowMs - (this.batches[0] as TracedBatch).receivedAtMs >= tracedAgeMaxMs) {
          this.batches.shift()?.span.end();
        }
      },
      undefined,
    );
  }

  /**
   * The member changed role or epoch: what it followed no longer goes on as
   * it was (a new primary may take over the sequences), so it all ends here.
   */
  reset(): void {
    tracingSafely(
      'reset',
      () => {
        for (const [sequence, write] of this.writes) this.forget(sequence, write);
        for (const batch of this.batches) batch.span.end();
        this.batches = [];
        this.awaitingAck.clear();
      },
      undefined,
    );
  }

  private replicationContexts(backup: string, entries: readonly LogEntry[]): commonV1.TraceContext[] {
    const contexts: commonV1.TraceContext[] = [];
    for (const entry of entries) {
      const write = this.writes.get(entry.sequence);
      if (!write) continue;
      let span = write.replication.get(backup);
      if (!span) {
        span = this.tracer.startSpan(
          `${replicationService}/Replicate`,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              ...rpcAttributes(replicationService, 'Replicate', this.options.addressOf?.(backup)),
              'bulwark.replica.backup': backup,
            },
          },
          this.parentOf(write),
        );
        write.replication.set(backup, span);
        let awaiting = this.awaitingAck.get(backup);
        if (!awaiting) this.awaitingAck.set(backup, (awaiting = []));
        // Writes are forgotten oldest first, so a backup that never answers leaves its ended spans at the head.
        while (awaiting.length > 0 && !this.isOpen(backup, awaiting[0] as { sequence: bigint; span: Span })) {
          awaiting.shift();
        }
        awaiting.push({ sequence: entry.sequence, span });
      }
      const traceContext = traceContextOf(span);
      if (traceContext) contexts.push(traceContext);
    }
    return contexts;
  }

  private isOpen(backup: string, { sequence, span }: { sequence: bigint; span: Span }): boolean {
    return this.writes.get(sequence)?.replication.get(backup) === span;
  }

  private parentOf(write: TracedWrite) {
    return trace.setSpanContext(ROOT_CONTEXT, write.operation);
  }

  private forget(sequence: bigint, write: TracedWrite): void {
    for (const span of write.replication.values()) {
      span.setAttribute('bulwark.replication.acknowledged', false);
      span.end();
    }
    write.replication.clear();
    this.writes.delete(sequence);
  }
}

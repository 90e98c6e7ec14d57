// The spans of a member's sampled writes after the shard.v1 operation's own
// span (which is active when the runner proposes). On the primary: the
// group-commit WAL append, linked to every sampled write it carried; a
// fenced write's fence check, where the entry is applied; and per backup a
// replication span of the write, from when its entry first goes to that
// backup until the backup acknowledges it on disk. On a backup: one span
// per received batch that carried sampled writes, linked to the primary's
// replication spans of them, until its acknowledgement goes back. Only
// sampled writes are kept, at most tracedWritesMax; writes no backup ever
// acknowledges (async mode, a backup away) end unacknowledged when evicted.
import { performance } from 'node:perf_hooks';
import {
  SpanKind,
  TraceFlags,
  context,
  trace,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { commonV1 } from '@bulwark/contracts';
import type { LogEntry } from '@bulwark/replication';
import { endRpcSpan, rpcAttributes, spanContextFrom, startBatchSpan, traceContextOf } from '@bulwark/rpc';

/** Sampled writes followed at once. */
export const tracedWritesMax = 4_096;
/** Received batches with sampled writes waiting for their acknowledgement, on a backup. */
export const tracedBatchesMax = 1_024;
/** A write is forgotten this long after it was proposed, acknowledged by its backups or not. */
export const tracedWriteAgeMaxMs = 60_000;

const replicationService = 'replication.v1.Replication';

interface TracedWrite {
  /** The operation span's context: the parent of the write's other spans. */
  readonly parent: Context;
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
  private readonly writes = new Map<bigint, TracedWrite>();
  private batches: TracedBatch[] = [];
  private readonly tracer: Tracer;
  private readonly clockMs: () => number;

  constructor(private readonly options: WriteTracesOptions<Outcome>) {
    this.tracer = options.tracer ?? trace.getTracer('bulwark-replica');
    this.clockMs = options.clockMs ?? (() => performance.now());
  }

  /** Sampled writes followed now (for tests and bounds). */
  get followed(): number {
    return this.writes.size;
  }

  /** The runner proposed a write at sequence, in its operation's span (the active context). */
  proposed(sequence: bigint, fenced: boolean): void {
    const parent = context.active();
    const operation = trace.getSpanContext(parent);
    if (!operation || (operation.traceFlags & TraceFlags.SAMPLED) === 0) return;
    const nowMs = this.clockMs();
    for (const [oldest, write] of this.writes) {
      if (this.writes.size < tracedWritesMax && nowMs - write.proposedAtMs < tracedWriteAgeMaxMs) break;
      this.forget(oldest, write);
    }
    // A sequence proposed again (a new epoch took it over): the old write's spans end here.
    const previous = this.writes.get(sequence);
    if (previous) this.forget(sequence, previous);
    this.writes.set(sequence, {
      parent,
      operation,
      fenced,
      proposedAtMs: nowMs,
      replication: new Map(),
      settled: false,
    });
  }

  /** Applies a committed entry; a sampled fenced write's apply is its fence check, in a span of its own. */
  applying(sequence: bigint, apply: () => Outcome): Outcome {
    const write = this.writes.get(sequence);
    if (!write?.fenced) return apply();
    const span = this.tracer.startSpan('bulwark.replica/FenceCheck', {}, write.parent);
    try {
      const outcome = apply();
      span.setAttribute('bulwark.fence.accepted', this.options.fenceAccepted(outcome));
      return outcome;
    } finally {
      span.end();
    }
  }

  /** A span for writing entries to the WAL (one fsync), linked to the sampled writes among them; none without. */
  persisting(entries: readonly LogEntry[]): Span | undefined {
    if (this.writes.size === 0) return undefined;
    const operations = entries.map((entry) => this.writes.get(entry.sequence)?.operation);
    return startBatchSpan(this.tracer, 'bulwark.replica/WALAppend', SpanKind.INTERNAL, operations, {
      'bulwark.wal.entries': entries.length,
    });
  }

  /** Trace contexts for entries going to backup: each sampled write's replication span to it, started the first time. */
  replicating(backup: string, entries: readonly LogEntry[]): commonV1.TraceContext[] {
    if (this.writes.size === 0) return [];
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
          write.parent,
        );
        write.replication.set(backup, span);
      }
      const traceContext = traceContextOf(span);
      if (traceContext) contexts.push(traceContext);
    }
    return contexts;
  }

  /** backup has every entry through durableSequence on disk: their replication spans to it end. */
  acknowledged(backup: string, durableSequence: bigint): void {
    for (const [sequence, write] of this.writes) {
      if (sequence > durableSequence) continue;
      const span = write.replication.get(backup);
      if (!span) continue;
      write.replication.delete(backup);
      endRpcSpan(span);
      if (write.settled && write.replication.size === 0) this.writes.delete(sequence);
    }
  }

  /**
   * The write at sequence was answered. Failed, its open replication spans
   * end with the failure; answered, they stay open for the backups still
   * to acknowledge it (async mode answers before they do).
   */
  settled(sequence: bigint, failure?: Error): void {
    const write = this.writes.get(sequence);
    if (!write) return;
    write.settled = true;
    if (failure) {
      for (const span of write.replication.values()) endRpcSpan(span, failure);
      write.replication.clear();
    }
    if (write.replication.size === 0) this.writes.delete(sequence);
  }

  /** On a backup: a batch from primary through lastSequence with these traces; its span ends when acknowledged. */
  received(primary: string, lastSequence: bigint, entryTraces: readonly commonV1.TraceContext[]): void {
    if (entryTraces.length === 0) return;
    const span = startBatchSpan(
      this.tracer,
      `${replicationService}/Replicate`,
      SpanKind.SERVER,
      entryTraces.map(spanContextFrom),
      { ...rpcAttributes(replicationService, 'Replicate'), 'bulwark.replica.primary': primary },
    );
    if (!span) return;
    if (this.batches.length >= tracedBatchesMax) this.batches.shift()?.span.end();
    this.batches.push({ span, primary, lastSequence });
  }

  /** On a backup: its acknowledgement through durableSequence goes to primary, ending the batches it covers. */
  acknowledging(primary: string, durableSequence: bigint): void {
    if (this.batches.length === 0) return;
    this.batches = this.batches.filter((batch) => {
      if (batch.primary !== primary || batch.lastSequence > durableSequence) return true;
      batch.span.end();
      return false;
    });
  }

  private forget(sequence: bigint, write: TracedWrite): void {
    for (const span of write.replication.values()) {
      span.setAttribute('bulwark.replication.acknowledged', false);
      span.end();
    }
    this.writes.delete(sequence);
  }
}

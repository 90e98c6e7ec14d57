// What a node sends a member that lags: chosen entries in batches bounded in
// entries and bytes, or its snapshot when the member is behind what it can
// still send as entries. A leader drives a window of CatchUp messages per
// follower (follower-progress.ts); any node answers a CatchUpRequest with one
// batch. Compaction keeps the last chosen values in memory (a tail), so a
// member a little behind catches up from entries, not a snapshot, as etcd
// keeps entries before its snapshot index; the tail is not durable.
import type { Ballot } from './ballot';
import type { PaxosSettings } from './config';
import type { FollowerProgress } from './follower-progress';
import type { Entry, Message, Snapshot } from './messages';

/** What the sender reads of its node when it sends. */
export interface CatchUpSource {
  readonly id: string;
  readonly now: number;
  readonly commit: bigint;
  readonly logStart: bigint;
  readonly snapshot: Snapshot | undefined;
  /** The ballot the messages carry: the leader's, or the promised one. */
  readonly ballot: Ballot;
  readonly chosen: ReadonlyMap<bigint, Uint8Array>;
  send(message: Message): void;
}

export class CatchUpSender {
  private readonly tail = new Map<bigint, Uint8Array>();
  /** The first slot of the tail (the log start when there is none). */
  private tailFrom: bigint;

  constructor(
    private readonly settings: PaxosSettings,
    logStart: bigint,
  ) {
    this.tailFrom = logStart;
  }

  /**
   * Before a compaction folds the log through `throughSlot` into a
   * snapshot: keeps the last catchUpTailEntries chosen values. The tail
   * stays contiguous: the chosen values from the log start through
   * throughSlot, after what it held before.
   */
  keepTail(chosen: ReadonlyMap<bigint, Uint8Array>, throughSlot: bigint): void {
    const keepFrom = throughSlot - BigInt(this.settings.catchUpTailEntries) + 1n;
    const tailFrom = keepFrom > this.tailFrom ? keepFrom : this.tailFrom;
    for (const [slot, command] of chosen) if (slot <= throughSlot && slot >= tailFrom) this.tail.set(slot, command);
    for (const slot of this.tail.keys()) if (slot < tailFrom) this.tail.delete(slot);
    this.tailFrom = tailFrom;
  }

  /** A peer's snapshot replaced the log: nothing before `logStart` can be sent as entries now. */
  dropTail(logStart: bigint): void {
    this.tail.clear();
    this.tailFrom = logStart;
  }

  /**
   * Sends a follower being caught up what it lacks up to its target: the
   * snapshot when its commit point is before the first slot still sendable,
   * or chosen entries, at most catchUpWindowBatches messages in flight.
   * Every batch it stores it answers with a CatchUpRequest, which frees a
   * place in the window.
   */
  replicateTo(source: CatchUpSource, peer: string, progress: FollowerProgress): void {
    const target = progress.catchUpTarget;
    if (target === undefined) return;
    const quietTicks = source.now - Math.max(progress.lastSendTick, progress.lastProgressTick);
    if (progress.commit + 1n < this.firstSendable(source)) {
      if (!source.snapshot) return;
      if (progress.snapshotSentSlot !== undefined && quietTicks < this.snapshotResendTicks) return;
      this.sendSnapshot(source, peer, source.snapshot);
      progress.snapshotSentSlot = source.snapshot.lastSlot;
      progress.lastSendTick = source.now;
      return;
    }
    if (progress.catchUpSentThrough < progress.commit || quietTicks >= this.catchUpResendTicks) {
      // Nothing in flight, or what was sent is taken as lost: start from its commit point.
      progress.catchUpSentThrough = progress.commit;
      progress.batchesInFlight = 0;
    }
    const end = target < source.commit ? target : source.commit;
    while (progress.catchUpSentThrough < end && progress.batchesInFlight < this.settings.catchUpWindowBatches) {
      const entries = this.range(source, progress.catchUpSentThrough + 1n, end);
      source.send({ type: 'catchUp', from: source.id, to: peer, ballot: source.ballot, entries });
      progress.catchUpSentThrough = (entries.at(-1) as Entry).slot;
      progress.batchesInFlight++;
      progress.lastSendTick = source.now;
    }
  }

  /** One batch for a node that asked a non-leader; it asks again for more. */
  sendBatch(source: CatchUpSource, to: string, theirCommit: bigint): void {
    if (theirCommit >= source.commit) return;
    if (theirCommit + 1n < this.firstSendable(source)) {
      if (source.snapshot) this.sendSnapshot(source, to, source.snapshot);
      return;
    }
    const entries = this.range(source, theirCommit + 1n, source.commit);
    source.send({ type: 'catchUp', from: source.id, to, ballot: source.ballot, entries });
  }

  /** Ticks without progress after which catch-up in flight is taken as lost and sent again. */
  private get catchUpResendTicks(): number {
    return this.settings.electionTimeoutMinTicks;
  }

  /** The same for a snapshot, which may be large and slow to install. */
  private get snapshotResendTicks(): number {
    return this.settings.electionTimeoutMaxTicks * 4;
  }

  private firstSendable(source: CatchUpSource): bigint {
    return this.tailFrom < source.logStart ? this.tailFrom : source.logStart;
  }

  private sendSnapshot(source: CatchUpSource, to: string, snapshot: Snapshot): void {
    source.send({ type: 'installSnapshot', from: source.id, to, ballot: source.ballot, snapshot });
  }

  /** Chosen entries from `first` on (never past `last`), one batch's worth. */
  private range(source: CatchUpSource, first: bigint, last: bigint): Entry[] {
    const entries: Entry[] = [];
    let bytes = 0;
    for (let slot = first; slot <= last && entries.length < this.settings.batchEntriesMax; slot++) {
      const command = (source.chosen.get(slot) ?? this.tail.get(slot)) as Uint8Array;
      if (entries.length > 0 && bytes + command.byteLength > this.settings.batchBytesMax) break;
      entries.push({ slot, command });
      bytes += command.byteLength;
    }
    return entries;
  }
}

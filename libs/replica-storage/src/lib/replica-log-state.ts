// The rules every store applies calls by, so FileReplicaStorage (on each call
// and on each replayed record) and MemoryReplicaStorage accept and refuse
// exactly the same things and end in the same state.
//
// The log is consecutive, from logStart to nextSequence - 1. It always
// reaches the snapshot's last sequence S (it may start at or before S when
// saveSnapshot kept entries, or right after S, empty), so nothing at or
// below S is ever truncated or written again. The epoch history covers
// 1..max(S, last entry): the snapshot's epoch starts, then the log's above S.
import { InvalidArgumentError } from '@bulwark/errors';
import { EpochHistory, epochHistoryMax } from '@bulwark/replication';
import { checkedUint64, type WalBase } from './record-codec';
import type { EpochStart, KeepEntries, LogEntry, PersistBatch, SnapshotPoint } from './replica-types';

export function sameEpochStarts(a: readonly EpochStart[], b: readonly EpochStart[]): boolean {
  return (
    a.length === b.length &&
    a.every((start, index) => start.epoch === b[index]?.epoch && start.firstSequence === b[index]?.firstSequence)
  );
}

/** Throws InvalidArgumentError unless `starts` is a history of a log through `lastSequence`. */
function checkEpochStarts(starts: readonly EpochStart[], lastSequence: bigint, field: string): void {
  if (starts.length > epochHistoryMax) {
    throw new InvalidArgumentError(
      field,
      `${starts.length} epoch starts, above the ${epochHistoryMax} a history holds`,
    );
  }
  starts.forEach((start, index) => {
    checkedUint64(start.epoch, `${field}[${index}].epoch`);
    checkedUint64(start.firstSequence, `${field}[${index}].firstSequence`);
    const previous = starts[index - 1];
    if (previous === undefined ? start.firstSequence !== 1n : start.firstSequence <= previous.firstSequence) {
      throw new InvalidArgumentError(`${field}[${index}].firstSequence`, 'must be 1 first, then strictly increasing');
    }
    if (previous !== undefined && start.epoch <= previous.epoch) {
      throw new InvalidArgumentError(`${field}[${index}].epoch`, 'epochs must strictly increase');
    }
    if (start.firstSequence > lastSequence) {
      throw new InvalidArgumentError(`${field}[${index}].firstSequence`, `is above the last sequence ${lastSequence}`);
    }
  });
  if (lastSequence > 0n && starts.length === 0) {
    throw new InvalidArgumentError(field, `a log through sequence ${lastSequence} has at least one epoch start`);
  }
}

export class ReplicaLogState {
  highestEpoch = 0n;
  ledEpoch = 0n;
  /** The last sequence the snapshot covers, 0 without one: the floor of truncation. */
  snapshotLastSequence = 0n;
  /** The sequence of the log's first entry, or of the next one while it is empty. */
  logStart = 1n;
  /** The sequence the next appended entry must have. */
  nextSequence = 1n;
  private history = new EpochHistory();
  /** The entries themselves, kept only when asked for (the file store keeps them on disk only). */
  private kept: LogEntry[] | undefined;

  constructor(options: { keepEntries: boolean }) {
    this.kept = options.keepEntries ? [] : undefined;
  }

  /** A state a WAL starts from; throws InvalidArgumentError when the base is not one this code writes. */
  static fromBase(base: WalBase, options: { keepEntries: boolean }): ReplicaLogState {
    checkEpochStarts(base.snapshotEpochStarts, base.snapshotLastSequence, 'base.snapshotEpochStarts');
    if (base.logStart < 1n || base.logStart > base.snapshotLastSequence + 1n) {
      throw new InvalidArgumentError(
        'base.logStart',
        `${base.logStart} is outside 1..${base.snapshotLastSequence + 1n} (the snapshot's last sequence + 1)`,
      );
    }
    const state = new ReplicaLogState(options);
    state.highestEpoch = base.highestEpoch;
    state.ledEpoch = base.ledEpoch;
    state.snapshotLastSequence = base.snapshotLastSequence;
    state.history = EpochHistory.from(base.snapshotEpochStarts);
    state.logStart = base.logStart;
    state.nextSequence = base.logStart;
    return state;
  }

  /** What a WAL written now starts with. */
  base(): WalBase {
    return {
      logStart: this.logStart,
      snapshotLastSequence: this.snapshotLastSequence,
      snapshotEpochStarts: this.history.list.filter((start) => start.firstSequence <= this.snapshotLastSequence),
      highestEpoch: this.highestEpoch,
      ledEpoch: this.ledEpoch,
    };
  }

  /** The log's entries; only for a state made with keepEntries. */
  get entries(): readonly LogEntry[] {
    if (!this.kept) throw new Error('this ReplicaLogState does not keep entries');
    return this.kept;
  }

  /** Stops keeping entries: what a store that holds them on disk does once it has handed them out. */
  forgetEntries(): void {
    this.kept = undefined;
  }

  /** The epoch of the entry at `sequence` (or the snapshot's, at or below S). */
  private epochAt(sequence: bigint): bigint {
    return sequence < 1n ? 0n : this.history.epochAt(sequence);
  }

  /** Throws InvalidArgumentError, changing nothing, unless `batch` fits the log as it is. */
  checkBatch(batch: PersistBatch): void {
    let next = this.nextSequence;
    let starts = this.history.list.length;
    if (batch.truncateAfter !== undefined) {
      const truncateAfter = checkedUint64(batch.truncateAfter, 'batch.truncateAfter');
      if (truncateAfter < this.snapshotLastSequence) {
        throw new InvalidArgumentError(
          'batch.truncateAfter',
          `${truncateAfter} is below the snapshot's last sequence ${this.snapshotLastSequence}, which stays`,
        );
      }
      if (truncateAfter + 1n < next) {
        next = truncateAfter + 1n;
        starts = this.history.list.filter((start) => start.firstSequence <= truncateAfter).length;
      }
    }
    let lastEpoch = this.epochAt(next - 1n);
    batch.entries.forEach((entry, index) => {
      const field = `batch.entries[${index}]`;
      const sequence = checkedUint64(entry.sequence, `${field}.sequence`);
      const epoch = checkedUint64(entry.epoch, `${field}.epoch`);
      if (sequence !== next) {
        throw new InvalidArgumentError(`${field}.sequence`, `is ${sequence}, but the log continues at ${next}`);
      }
      if (sequence <= this.snapshotLastSequence) {
        // Only a WAL's first records hold these: entries kept below a snapshot, whose epochs it already knows.
        if (epoch !== this.epochAt(sequence)) {
          throw new InvalidArgumentError(
            `${field}.epoch`,
            `is ${epoch}, but the snapshot has ${this.epochAt(sequence)}`,
          );
        }
      } else if (epoch < lastEpoch) {
        throw new InvalidArgumentError(
          `${field}.epoch`,
          `${epoch} is older than the log's epoch ${lastEpoch} before it`,
        );
      } else if (epoch > lastEpoch || starts === 0) {
        starts++;
        if (starts > epochHistoryMax) {
          throw new InvalidArgumentError(
            `${field}.epoch`,
            `would start epoch number ${starts}, above ${epochHistoryMax}`,
          );
        }
      }
      lastEpoch = epoch;
      next++;
    });
    if (
      batch.highestEpoch !== undefined &&
      checkedUint64(batch.highestEpoch, 'batch.highestEpoch') < this.highestEpoch
    ) {
      throw new InvalidArgumentError('batch.highestEpoch', `${batch.highestEpoch} would lower ${this.highestEpoch}`);
    }
    if (batch.ledEpoch !== undefined && checkedUint64(batch.ledEpoch, 'batch.ledEpoch') < this.ledEpoch) {
      throw new InvalidArgumentError('batch.ledEpoch', `${batch.ledEpoch} would lower ${this.ledEpoch}`);
    }
  }

  /** Applies `batch` after checkBatch: truncation, then entries, then the epochs. */
  applyBatch(batch: PersistBatch): void {
    this.checkBatch(batch);
    const truncateAfter = batch.truncateAfter;
    if (truncateAfter !== undefined && truncateAfter + 1n < this.nextSequence) {
      this.history.truncateAfter(truncateAfter);
      this.nextSequence = truncateAfter + 1n;
      if (this.kept) while ((this.kept.at(-1)?.sequence ?? 0n) > truncateAfter) this.kept.pop();
    }
    for (const entry of batch.entries) {
      if (entry.sequence > this.snapshotLastSequence) this.history.noteAppend(entry.epoch, entry.sequence);
      this.kept?.push(entry);
      this.nextSequence++;
    }
    if (batch.highestEpoch !== undefined) this.highestEpoch = batch.highestEpoch;
    if (batch.ledEpoch !== undefined) this.ledEpoch = batch.ledEpoch;
  }

  /** Throws InvalidArgumentError, changing nothing, unless a snapshot at `position` keeping `keep` fits the log. */
  checkSnapshot(position: SnapshotPoint, keep: KeepEntries): void {
    const lastSequence = checkedUint64(position.lastSequence, 'snapshot.lastSequence');
    const lastEpoch = checkedUint64(position.lastEpoch, 'snapshot.lastEpoch');
    // With 'none' it replaces snapshot and log, wherever it is: behind the stored one too, when a failover
    // lost writes this member applied and it starts over (the replication core's discardState).
    if (keep !== 'none' && lastSequence < this.snapshotLastSequence) {
      throw new InvalidArgumentError(
        'snapshot.lastSequence',
        `${lastSequence} is older than the stored snapshot's ${this.snapshotLastSequence}; only 'none' may go back`,
      );
    }
    checkEpochStarts(position.epochStarts, lastSequence, 'snapshot.epochStarts');
    const epochOfLast = position.epochStarts.at(-1)?.epoch ?? 0n;
    if (lastEpoch !== epochOfLast) {
      throw new InvalidArgumentError(
        'snapshot.lastEpoch',
        `is ${lastEpoch}, but the epoch starts end in ${epochOfLast}`,
      );
    }
    if (keep === 'none') return;
    const keepFrom = checkedUint64(keep, 'keepEntriesFrom');
    if (keepFrom > lastSequence + 1n) {
      throw new InvalidArgumentError(
        'keepEntriesFrom',
        `${keepFrom} would leave a gap after the snapshot's last sequence ${lastSequence}`,
      );
    }
    if (this.nextSequence - 1n < lastSequence) {
      throw new InvalidArgumentError(
        'keepEntriesFrom',
        `the log ends at ${this.nextSequence - 1n}, before the snapshot's last sequence ${lastSequence}: keep 'none'`,
      );
    }
    const ownStarts = this.history.list.filter((start) => start.firstSequence <= lastSequence);
    if (!sameEpochStarts(ownStarts, position.epochStarts)) {
      throw new InvalidArgumentError('snapshot.epochStarts', `differ from the log's own through ${lastSequence}`);
    }
  }

  applySnapshot(position: SnapshotPoint, keep: KeepEntries): void {
    this.checkSnapshot(position, keep);
    this.snapshotLastSequence = position.lastSequence;
    if (keep === 'none') {
      this.history = EpochHistory.from(position.epochStarts);
      this.logStart = position.lastSequence + 1n;
      this.nextSequence = this.logStart;
      this.kept?.splice(0);
      return;
    }
    if (keep > this.logStart) this.logStart = keep;
    if (this.kept) {
      const dropped = this.kept.findIndex((entry) => entry.sequence >= this.logStart);
      this.kept.splice(0, dropped === -1 ? this.kept.length : dropped);
    }
  }

  /** Throws InvalidArgumentError unless the log reaches the snapshot: the end of every replayed WAL. */
  checkReachesSnapshot(): void {
    if (this.nextSequence - 1n < this.snapshotLastSequence) {
      throw new InvalidArgumentError(
        'log',
        `ends at ${this.nextSequence - 1n}, before the snapshot's last sequence ${this.snapshotLastSequence}`,
      );
    }
  }
}

// A member's group log in memory: the entries after its last compaction,
// and the epoch history of the whole log (compacted part included), which
// is all agreement needs.
import { EpochHistory, type EpochStart, type LogShape } from './epoch-history';
import type { LogEntry, SnapshotPoint } from './messages';

export class ReplicatedLog implements LogShape {
  private entries: LogEntry[] = [];
  private firstInMemory: bigint;
  private snapshotPoint: SnapshotPoint;
  private epochs: EpochHistory;

  /**
   * A log that starts after `snapshot` (sequence 0: empty) and holds
   * `entries`, consecutive; they may begin at or before the snapshot's last
   * sequence (a tail kept for backups a little behind), and then reach it.
   */
  constructor(snapshot: SnapshotPoint, entries: readonly LogEntry[]) {
    this.snapshotPoint = snapshot;
    this.epochs = EpochHistory.from(snapshot.epochStarts);
    const first = entries[0]?.sequence ?? snapshot.lastSequence + 1n;
    if (first > snapshot.lastSequence + 1n) {
      throw new RangeError(`the log starts at ${first}, after the snapshot's ${snapshot.lastSequence}`);
    }
    this.firstInMemory = first;
    for (const entry of entries) {
      if (entry.sequence <= snapshot.lastSequence) {
        // Covered by the snapshot's epoch starts already.
        if (entry.sequence !== this.lastSequence + 1n || entry.epoch !== this.epochs.epochAt(entry.sequence)) {
          throw new RangeError(`entry ${entry.sequence} does not match the snapshot's log`);
        }
        this.entries.push(entry);
      } else this.append(entry);
    }
    if (this.lastSequence < snapshot.lastSequence) {
      throw new RangeError(`the log ends at ${this.lastSequence}, before the snapshot's ${snapshot.lastSequence}`);
    }
  }

  get history(): EpochHistory {
    return this.epochs;
  }

  get lastSequence(): bigint {
    return this.firstInMemory + BigInt(this.entries.length) - 1n;
  }

  get lastEpoch(): bigint {
    return this.epochs.lastEpoch;
  }

  /** The first sequence still in memory; earlier ones are only in the snapshot. */
  get firstSequence(): bigint {
    return this.firstInMemory;
  }

  /** The snapshot the log starts after: what a member too far behind installs. */
  get snapshot(): SnapshotPoint {
    return this.snapshotPoint;
  }

  epochAt(sequence: bigint): bigint {
    return sequence === 0n ? 0n : this.epochs.epochAt(sequence);
  }

  entry(sequence: bigint): LogEntry | undefined {
    if (sequence < this.firstInMemory) return undefined;
    return this.entries[Number(sequence - this.firstInMemory)];
  }

  append(entry: LogEntry): void {
    if (entry.sequence !== this.lastSequence + 1n) {
      throw new RangeError(`entry ${entry.sequence} does not follow the log's last ${this.lastSequence}`);
    }
    this.epochs.noteAppend(entry.epoch, entry.sequence);
    this.entries.push(entry);
  }

  /** Drops every entry after `sequence`; the compacted part cannot be dropped (reset instead). */
  truncateAfter(sequence: bigint): void {
    if (sequence < this.snapshotPoint.lastSequence) {
      throw new RangeError(
        `cannot truncate to ${sequence}: the log is compacted through ${this.snapshotPoint.lastSequence}`,
      );
    }
    if (sequence >= this.lastSequence) return;
    this.entries.length = Number(sequence - this.firstInMemory + 1n);
    this.epochs.truncateAfter(sequence);
  }

  /** Entries from `first` on, at most `entriesMax` of them and `bytesMax` of commands (always one, if any). */
  slice(first: bigint, entriesMax: number, bytesMax: number): LogEntry[] {
    const batch: LogEntry[] = [];
    let bytes = 0;
    for (let sequence = first; sequence <= this.lastSequence && batch.length < entriesMax; sequence++) {
      const entry = this.entry(sequence);
      if (!entry) throw new RangeError(`entry ${sequence} is compacted`);
      if (batch.length > 0 && bytes + entry.command.length > bytesMax) break;
      bytes += entry.command.length;
      batch.push(entry);
    }
    return batch;
  }

  /**
   * A snapshot through `point.lastSequence` is durable: entries before
   * `keepFrom` leave memory (a backup that needs them installs the snapshot).
   */
  compact(point: SnapshotPoint, keepFrom: bigint): void {
    if (point.lastSequence > this.lastSequence) throw new RangeError(`snapshot ${point.lastSequence} is past the log`);
    this.snapshotPoint = point;
    const dropTo = keepFrom - 1n < point.lastSequence ? keepFrom - 1n : point.lastSequence;
    if (dropTo >= this.firstInMemory) {
      this.entries.splice(0, Number(dropTo - this.firstInMemory + 1n));
      this.firstInMemory = dropTo + 1n;
    }
  }

  /** The log restarts after `point` with nothing in it: a snapshot from the primary replaced it. */
  reset(point: SnapshotPoint): void {
    this.snapshotPoint = point;
    this.epochs = EpochHistory.from(point.epochStarts);
    this.entries = [];
    this.firstInMemory = point.lastSequence + 1n;
  }

  /** The epoch starts through `sequence`, for a snapshot taken there. */
  epochStartsThrough(sequence: bigint): EpochStart[] {
    return this.epochs.list.filter((start) => start.firstSequence <= sequence);
  }
}

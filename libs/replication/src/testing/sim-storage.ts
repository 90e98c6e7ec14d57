// A member's disk in the simulator: what completed writes left, and nothing
// of a write in flight when the member crashed.
import type { LogEntry, SnapshotPoint } from '../lib/messages';
import { emptySnapshotPoint, type RecoveredReplica } from '../lib/node';
import type { PersistBatch } from '../lib/ready';

export class SimStorage {
  private highestEpoch = 0n;
  private ledEpoch = 0n;
  private point: SnapshotPoint = emptySnapshotPoint;
  private state: ReadonlyMap<string, string> = new Map();
  private entries: LogEntry[] = [];

  append(batch: PersistBatch): void {
    if (batch.truncateAfter !== undefined) {
      this.entries = this.entries.filter((entry) => entry.sequence <= (batch.truncateAfter as bigint));
    }
    for (const entry of batch.entries) {
      const last = this.entries.at(-1)?.sequence ?? this.point.lastSequence;
      if (entry.sequence !== last + 1n) throw new Error(`disk: entry ${entry.sequence} after ${last}`);
      this.entries.push(entry);
    }
    if (batch.highestEpoch !== undefined && batch.highestEpoch > this.highestEpoch)
      this.highestEpoch = batch.highestEpoch;
    if (batch.ledEpoch !== undefined && batch.ledEpoch > this.ledEpoch) this.ledEpoch = batch.ledEpoch;
  }

  /** A snapshot of the applied state at point; entries before keepFrom go ('none': all go). */
  saveSnapshot(point: SnapshotPoint, state: ReadonlyMap<string, string>, keepFrom: bigint | 'none'): void {
    this.point = point;
    this.state = new Map(state);
    this.entries =
      keepFrom === 'none'
        ? []
        : this.entries.filter((entry) => entry.sequence >= keepFrom && entry.sequence > point.lastSequence);
  }

  get snapshot(): { readonly point: SnapshotPoint; readonly state: ReadonlyMap<string, string> } {
    return { point: this.point, state: this.state };
  }

  recover(): RecoveredReplica {
    return {
      highestEpoch: this.highestEpoch,
      ledEpoch: this.ledEpoch,
      snapshot: this.point,
      entries: [...this.entries],
    };
  }
}

// Which epoch wrote each part of a replica's group log, kept as the first
// sequence of every epoch that wrote anything (replication.v1 EpochStart),
// and where two logs stop agreeing (Kafka's leader-epoch truncation, KIP-101
// and KIP-279): a returning member keeps the longest prefix it shares with
// the primary and drops the rest, which no primary of a later epoch wrote.
//
// Two logs agree on a sequence when the same epoch wrote it in both: an
// epoch has one primary, and the entries it wrote are the same wherever
// they are. Agreement is prefix-closed (a primary extends the log it started
// its epoch with), so the first sequence where the epochs differ ends it.

export interface EpochStart {
  readonly epoch: bigint;
  /** The first sequence the epoch wrote; sequences start at 1. */
  readonly firstSequence: bigint;
}

/** Epochs a history holds: one per primary change that wrote something. */
export const epochHistoryMax = 100_000;

export class EpochHistory {
  private readonly starts: EpochStart[] = [];

  /**
   * A history from its starts, oldest first: epochs and first sequences
   * strictly increasing, from sequence 1 on. Throws RangeError otherwise.
   */
  static from(starts: readonly EpochStart[]): EpochHistory {
    const history = new EpochHistory();
    for (const start of starts) history.noteAppend(start.epoch, start.firstSequence);
    return history;
  }

  /** The starts, oldest first, as the contract carries them. */
  get list(): readonly EpochStart[] {
    return this.starts;
  }

  /** The epoch of the last entry, 0 for an empty log. */
  get lastEpoch(): bigint {
    return this.starts.at(-1)?.epoch ?? 0n;
  }

  /**
   * Records that `epoch` wrote the entry at `sequence`, appended after every
   * entry noted before. A new epoch starts there; the same epoch continues.
   */
  noteAppend(epoch: bigint, sequence: bigint): void {
    const last = this.starts.at(-1);
    if (sequence < 1n) throw new RangeError(`sequence must be at least 1, got ${sequence}`);
    if (!last) {
      if (sequence !== 1n) throw new RangeError(`the first entry must be at sequence 1, got ${sequence}`);
    } else {
      if (epoch < last.epoch) throw new RangeError(`epoch ${epoch} is older than the log's epoch ${last.epoch}`);
      if (sequence <= last.firstSequence) {
        throw new RangeError(`sequence ${sequence} is not after epoch ${last.epoch}'s start ${last.firstSequence}`);
      }
      if (epoch === last.epoch) return;
    }
    if (this.starts.length >= epochHistoryMax) throw new RangeError(`more than ${epochHistoryMax} epochs`);
    this.starts.push(Object.freeze({ epoch, firstSequence: sequence }));
  }

  /** The epoch that wrote `sequence` (0 before the first entry); entries past the log's end are not known here. */
  epochAt(sequence: bigint): bigint {
    let low = 0;
    let high = this.starts.length - 1;
    let found = 0n;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const start = this.starts[middle] as EpochStart;
      if (start.firstSequence <= sequence) {
        found = start.epoch;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  }

  /** Drops every epoch that started after `sequence`: the log was truncated to it. */
  truncateAfter(sequence: bigint): void {
    while ((this.starts.at(-1)?.firstSequence ?? 0n) > sequence) this.starts.pop();
  }
}

/** One replica's log as far as agreement goes: who wrote what, and how long it is. */
export interface LogShape {
  readonly history: EpochHistory;
  /** The last sequence in the log, 0 when empty. */
  readonly lastSequence: bigint;
}

/**
 * The last sequence on which two logs agree: a backup keeps its log through
 * it and truncates the rest before it takes the primary's entries.
 */
export function agreedThrough(primary: LogShape, backup: LogShape): bigint {
  const end = primary.lastSequence < backup.lastSequence ? primary.lastSequence : backup.lastSequence;
  // Both epoch functions are constant between consecutive starts: compare them once per segment.
  const boundaries = new Set<bigint>();
  for (const start of [...primary.history.list, ...backup.history.list]) {
    if (start.firstSequence <= end) boundaries.add(start.firstSequence);
  }
  const ordered = [...boundaries].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const first of ordered) {
    if (primary.history.epochAt(first) !== backup.history.epochAt(first)) return first - 1n;
  }
  return end;
}

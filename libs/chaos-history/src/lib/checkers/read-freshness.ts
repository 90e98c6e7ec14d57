import { InvalidArgumentError } from '@bulwark/errors';
import {
  asHistory,
  recordsOf,
  type ChaosHistory,
  type ChaosOperation,
  type ChaosOperationOf,
  type HistoryInput,
} from '../history-index';
import { appliedWrites, durabilityOf, possibleWrites } from '../key-writes';
import type { Consistency } from '../records';
import { AnomalyList, nameOf, showValue, type Anomaly, type CheckerResult } from './anomalies';

// What the ok gets of a run may return, at every consistency, on the keys
// whose every write that did not fail is sync (an async write may be lost in
// a failover, and a read may then rightly return the value it overwrote:
// such keys are skipped).
// - phantom-value (every consistency): a value read was written by some
//   write that did not fail, invoked before the read completed.
// - stale-bounded-read (bounded reads that carry maxStalenessMs): a replica
//   may answer at most maxStalenessMs behind the primary, plus slackMs for
//   the messages in flight it cannot see. The read is stale if, for every
//   write W of the value it returned that was invoked before it completed
//   (for absent: the deletes, and the initial absence, done at -Infinity),
//   an ok write W2 of another value was invoked after W completed (so W2
//   came after W; an unknown W never completes, so it is never surely
//   overwritten) and acknowledged before read.invokedMs - maxStalenessMs -
//   slackMs: within the bound, the key surely held something else already.
// Strong reads are linearizable reads, which checkChaosLinearizability
// judges; here they get the phantom rule only, as eventual reads do.
//
// The overwrite that exists for every writer exists for the writer that
// completed last (the writes invoked after a later time are fewer), so each
// read needs one look-up: the last-completed writer W of its value invoked
// before the read completed, then the first-acknowledged ok write invoked
// after W completed. That one is of another value whenever any write in time
// is: a write of the read value acknowledged before read.invokedMs -
// maxStalenessMs - slackMs was invoked before the read completed, so it is
// one of the writers, completed no later than W, and was not invoked after W
// completed. Each key's writes are sorted once: O(n log n).

/** slackMs when none is given: a replica's view lags the primary's acknowledgement by about a message's flight. */
export const defaultReadSlackMs = 250;

export interface ReadFreshnessOptions {
  /** Added to every read's maxStalenessMs: defaultReadSlackMs. */
  readonly slackMs?: number;
  readonly anomaliesMax?: number;
}

export interface PhantomValueRead extends Anomaly<'phantom-value'> {
  readonly key: string;
  readonly consistency: Consistency;
  /** The replica that answered. */
  readonly member: string;
  /** The read. */
  readonly opId: number;
  readonly value: string;
}

export interface StaleBoundedRead extends Anomaly<'stale-bounded-read'> {
  readonly key: string;
  readonly member: string;
  /** The read. */
  readonly opId: number;
  /** What it returned (null: absent). */
  readonly value: string | null;
  /** The write of that value that completed last before the read completed; null: the key's initial absence. */
  readonly writerOpId: number | null;
  /** The ok write of another value, invoked after that writer completed, acknowledged first. */
  readonly overwriteOpId: number;
  readonly maxStalenessMs: number;
  /** How stale the read was at least: from the overwrite's acknowledgement to the read's invocation. */
  readonly staleMs: number;
}

export type ReadFreshnessAnomaly = PhantomValueRead | StaleBoundedRead;

export interface ReadFreshnessResult extends CheckerResult<ReadFreshnessAnomaly> {
  /** ok gets judged, by consistency. */
  readonly readsChecked: Record<Consistency, number>;
  /** Of the bounded reads judged, those without maxStalenessMs (recorded before it was kept): phantom rule only. */
  readonly boundedReadsWithoutBound: number;
  /** Keys read ok that a write that did not fail may have written async: their reads are not judged. */
  readonly keysSkipped: readonly string[];
  /** ok gets of those keys. */
  readonly readsSkipped: number;
}

/** A possible write of a key's value; completedMs Infinity for an unknown one (it may take effect any time later). */
interface TimedWrite {
  readonly write: ChaosOperation;
  readonly value: string | null;
  readonly invokedMs: number;
  readonly completedMs: number;
}

const byInvocation = (a: TimedWrite, b: TimedWrite) => a.invokedMs - b.invokedMs;

/** How many of the ascending `sorted` are at most `limit`. */
function countAtMost(sorted: readonly number[], limit: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) <= limit) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The possible writes of one value of a key, by invocation, each with the last-completed write up to it. */
class ValueWriters {
  private readonly invokedMs: number[];
  private readonly lastCompleted: TimedWrite[] = [];

  constructor(writes: TimedWrite[]) {
    const sorted = writes.sort(byInvocation);
    this.invokedMs = sorted.map((write) => write.invokedMs);
    let last: TimedWrite | null = null;
    for (const write of sorted) {
      if (last === null || write.completedMs > last.completedMs) last = write;
      this.lastCompleted.push(last);
    }
  }

  /** Of those invoked by `byMs`, the one that completed last; null if none was. */
  lastCompletedBy(byMs: number): TimedWrite | null {
    return this.lastCompleted[countAtMost(this.invokedMs, byMs) - 1] ?? null;
  }

  /** The first invoked. */
  get first(): TimedWrite | null {
    return this.lastCompleted[0] ?? null;
  }
}

/** A key's ok writes by invocation, each suffix with its first-acknowledged write. */
class Overwrites {
  private readonly invokedMs: number[];
  private readonly firstAcknowledged: TimedWrite[] = [];

  constructor(writes: TimedWrite[]) {
    const sorted = writes.sort(byInvocation);
    this.invokedMs = sorted.map((write) => write.invokedMs);
    let first: TimedWrite | null = null;
    for (let index = sorted.length - 1; index >= 0; index--) {
      const write = sorted[index] as TimedWrite;
      if (first === null || write.completedMs < first.completedMs) first = write;
      this.firstAcknowledged[index] = first;
    }
  }

  /** Of the writes invoked after `afterMs`, the first acknowledged; null if none. */
  firstAfter(afterMs: number): TimedWrite | null {
    return this.firstAcknowledged[countAtMost(this.invokedMs, afterMs)] ?? null;
  }
}

/** What a key's writes say about its reads. */
class KeyWrites {
  private readonly possible = new Map<string | null, TimedWrite[]>();
  private readonly applied: TimedWrite[] = [];
  private writersOf: Map<string | null, ValueWriters> | null = null;
  private overwrites: Overwrites | null = null;
  hasAsyncWrite = false;

  addPossible(write: TimedWrite): void {
    const writes = this.possible.get(write.value);
    if (writes) writes.push(write);
    else this.possible.set(write.value, [write]);
  }

  addApplied(write: TimedWrite): void {
    this.applied.push(write);
  }

  /** The possible writes of `value` (null: absent) invoked by `byMs`, the one that completed last. */
  lastWriterBy(value: string | null, byMs: number): TimedWrite | null {
    return this.writers().get(value)?.lastCompletedBy(byMs) ?? null;
  }

  /** The first possible write of `value`, whenever invoked. */
  firstWriter(value: string | null): TimedWrite | null {
    return this.writers().get(value)?.first ?? null;
  }

  /** The first-acknowledged ok write invoked after `afterMs`, whatever its value. */
  firstAppliedAfter(afterMs: number): TimedWrite | null {
    this.overwrites ??= new Overwrites(this.applied);
    return this.overwrites.firstAfter(afterMs);
  }

  private writers(): Map<string | null, ValueWriters> {
    this.writersOf ??= new Map([...this.possible].map(([value, writes]) => [value, new ValueWriters(writes)]));
    return this.writersOf;
  }
}

function timed(write: ChaosOperation, value: string | null): TimedWrite {
  return { write, value, invokedMs: write.invokedMs, completedMs: write.completedMs ?? Infinity };
}

function keyWritesOf(operations: readonly ChaosOperation[]): Map<string, KeyWrites> {
  const keys = new Map<string, KeyWrites>();
  const of = (key: string) => {
    let writes = keys.get(key);
    if (writes === undefined) keys.set(key, (writes = new KeyWrites()));
    return writes;
  };
  for (const operation of operations) {
    const durability = durabilityOf(operation);
    if (durability === null || operation.outcome === 'fail') continue;
    for (const { key, value } of possibleWrites(operation)) {
      const writes = of(key);
      writes.addPossible(timed(operation, value));
      if (durability === 'async') writes.hasAsyncWrite = true;
    }
    // What an ok write left in each key: a transaction's last write of it.
    const left = new Map(appliedWrites(operation).map(({ key, value }) => [key, value]));
    for (const [key, value] of left) of(key).addApplied(timed(operation, value));
  }
  return keys;
}

type OkRead = ChaosOperationOf<'get'> & { readonly completedMs: number };

const keyOf = (read: OkRead) => JSON.stringify(read.op.key);

/** The read alone shows it: nothing before it wrote what it returned. */
function phantom(history: ChaosHistory, read: OkRead, value: string, writes: KeyWrites | undefined): PhantomValueRead {
  const { key, consistency } = read.op;
  const member = read.result?.member as string;
  const later = writes?.firstWriter(value);
  return {
    kind: 'phantom-value',
    description:
      `${consistency} ${nameOf(read)} read ${keyOf(read)} on ${member} as ${showValue(value)}, but no write of it ` +
      `that did not fail was invoked before the read completed at ${read.completedMs} ms` +
      (later ? ` (the first, ${nameOf(later.write)}, was invoked at ${later.invokedMs} ms)` : ''),
    records: history.subHistory(recordsOf(read)),
    key,
    consistency,
    member,
    opId: read.opId,
    value,
  };
}

interface Staleness {
  readonly writer: TimedWrite | null;
  readonly overwrite: TimedWrite;
  readonly maxStalenessMs: number;
  readonly staleMs: number;
}

/** The read, the last-completed writer of what it returned, and the write that surely overwrote it in time. */
function stale(
  history: ChaosHistory,
  read: OkRead,
  value: string | null,
  found: Staleness,
  slackMs: number,
): StaleBoundedRead {
  const { writer, overwrite, maxStalenessMs, staleMs } = found;
  const member = read.result?.member as string;
  const source =
    writer === null
      ? 'it was absent from the start, and no delete of it was invoked before the read completed'
      : `the last write of that to complete, ${nameOf(writer.write)}, was acknowledged at ${writer.completedMs} ms`;
  return {
    kind: 'stale-bounded-read',
    description:
      `bounded ${nameOf(read)} read ${keyOf(read)} on ${member} as ${showValue(value)}, at least ${staleMs} ms ` +
      `stale, beyond its bound of ${maxStalenessMs} ms plus ${slackMs} ms slack: ${source}; then ` +
      `${nameOf(overwrite.write)}, invoked at ${overwrite.invokedMs} ms, set it to ${showValue(overwrite.value)} ` +
      `and was acknowledged at ${overwrite.completedMs} ms; the read was invoked at ${read.invokedMs} ms`,
    records: history.subHistory([
      ...recordsOf(read),
      ...(writer === null ? [] : recordsOf(writer.write)),
      ...recordsOf(overwrite.write),
    ]),
    key: read.op.key,
    member,
    opId: read.opId,
    value,
    writerOpId: writer?.write.opId ?? null,
    overwriteOpId: overwrite.write.opId,
    maxStalenessMs,
    staleMs,
  };
}

/** The bounded read's overwrite, if it is stale (see the rule at the top of this file). */
function stalenessOf(
  read: OkRead,
  value: string | null,
  writes: KeyWrites | undefined,
  slackMs: number,
): Staleness | null {
  const { maxStalenessMs } = read.op;
  if (read.op.consistency !== 'bounded' || maxStalenessMs === undefined || writes === undefined) return null;
  // The initial absence completed before everything, so any delete found completed no earlier.
  const writer = writes.lastWriterBy(value, read.completedMs);
  const overwrite = writes.firstAppliedAfter(writer?.completedMs ?? -Infinity);
  // Of the same value it would be no overwrite; but then none is in time (see the note at the top of this file).
  if (overwrite === null || overwrite.value === value) return null;
  if (overwrite.completedMs >= read.invokedMs - maxStalenessMs - slackMs) return null;
  return { writer, overwrite, maxStalenessMs, staleMs: read.invokedMs - overwrite.completedMs };
}

function checkSlack(slackMs: number): void {
  if (!Number.isFinite(slackMs) || slackMs < 0) {
    throw new InvalidArgumentError('slackMs', `must be a finite number of at least 0, got ${slackMs}`);
  }
}

/** No read of a value nobody wrote, and no bounded read staler than its bound (see the rules at the top of this file). */
export function checkReadFreshness(input: HistoryInput, options: ReadFreshnessOptions = {}): ReadFreshnessResult {
  const slackMs = options.slackMs ?? defaultReadSlackMs;
  checkSlack(slackMs);
  const history = asHistory(input);
  const anomalies = new AnomalyList<ReadFreshnessAnomaly>(options.anomaliesMax);
  const keys = keyWritesOf(history.operations);
  const readsChecked: Record<Consistency, number> = { strong: 0, bounded: 0, eventual: 0 };
  let boundedReadsWithoutBound = 0;
  const keysSkipped = new Set<string>();
  let readsSkipped = 0;
  for (const operation of history.operations) {
    if (operation.kind !== 'get' || operation.outcome !== 'ok' || operation.result === null) continue;
    const read = operation as OkRead;
    const { key, consistency } = read.op;
    const writes = keys.get(key);
    if (writes?.hasAsyncWrite) {
      keysSkipped.add(key);
      readsSkipped += 1;
      continue;
    }
    readsChecked[consistency] += 1;
    if (consistency === 'bounded' && read.op.maxStalenessMs === undefined) boundedReadsWithoutBound += 1;
    const { value } = operation.result;
    if (value !== null && (writes === undefined || writes.lastWriterBy(value, read.completedMs) === null)) {
      anomalies.add(phantom(history, read, value, writes));
      continue;
    }
    const found = stalenessOf(read, value, writes, slackMs);
    if (found !== null) anomalies.add(stale(history, read, value, found, slackMs));
  }
  return {
    ...anomalies.result(),
    readsChecked,
    boundedReadsWithoutBound,
    keysSkipped: [...keysSkipped].sort(),
    readsSkipped,
  };
}

import { asHistory, recordsOf, type ChaosOperation, type HistoryInput } from '../history-index';
import { durabilityOf } from '../key-writes';
import type { CasResult, DeleteResult, PutResult, TxnResult } from '../records';
import { AnomalyList, nameOf, type Anomaly, type CheckerResult } from './anomalies';

// Where in its group's log each acknowledged write was committed (the
// response header's epoch and sequence), against the other writes of the
// group. A primary gives its entries increasing sequences, and a new
// primary's log holds every committed entry and continues from its end. So
// an acknowledged sync write W is lost if another ok write of its group, of
// W's epoch or a later one, sits at or below W's sequence although it must
// have come after W:
// - later-epoch: its epoch is later than W's;
// - same-sequence: it has W's epoch and sequence (two writes never share an
//   entry; across epochs, later-epoch tells which of the two was lost);
// - invoked-after: it was invoked after W was acknowledged.
// A write of an earlier epoch invoked after W was acknowledged came from a
// deposed primary: that one, not W, is what the log lost, so it is no
// evidence against W. Every ok write with a position is an entry (a failed
// compare and an async write too), but only sync writes are judged: async
// ones may be lost, within the window checkAsyncWriteLoss judges.
//
// The final reads cannot always see such a loss: when the new epoch's writes
// overwrite W's keys before anyone reads them, the replicas hold the new
// values and every read is explained, yet W is gone.

export type WritePositionRule = 'later-epoch' | 'same-sequence' | 'invoked-after';

/** An ok write with its place in its group's log, and its place in invocation order (anomalies follow it). */
interface LogEntry {
  readonly write: ChaosOperation;
  readonly group: string;
  readonly epoch: bigint;
  readonly sequence: bigint;
  readonly order: number;
}

interface Finding {
  readonly lost: LogEntry;
  readonly evidence: LogEntry;
  readonly rule: WritePositionRule;
}

export interface SyncWriteLostFromLog extends Anomaly<'sync-write-lost-from-log'> {
  readonly group: string;
  /** The first rule that finds it, in the order later-epoch, same-sequence, invoked-after. */
  readonly rule: WritePositionRule;
  /** The acknowledged sync write lost. */
  readonly opId: number;
  /** The write at or below its position that shows it. */
  readonly evidenceOpId: number;
}

export interface WritePositionsResult extends CheckerResult<SyncWriteLostFromLog> {
  /** ok writes with a log position, of any durability: the entries compared. */
  readonly writesChecked: number;
  /** ok writes without one (recorded before positions were kept): not checked. */
  readonly writesWithoutPosition: number;
}

/** An ok write's result; null for other operations and outcomes. */
function writeResultOf(operation: ChaosOperation): PutResult | DeleteResult | CasResult | TxnResult | null {
  switch (operation.kind) {
    case 'put':
    case 'delete':
    case 'cas':
    case 'txn':
      return operation.result;
    default:
      return null;
  }
}

const bySequence = (a: LogEntry, b: LogEntry) => (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0);

/** The entries sorted by sequence, in runs of one sequence. */
function runsBySequence(entries: readonly LogEntry[]): LogEntry[][] {
  const runs: LogEntry[][] = [];
  for (const entry of [...entries].sort(bySequence)) {
    const run = runs.at(-1);
    if (run !== undefined && (run[0] as LogEntry).sequence === entry.sequence) run.push(entry);
    else runs.push([entry]);
  }
  return runs;
}

const isSync = (entry: LogEntry) => durabilityOf(entry.write) === 'sync';

/**
 * later-epoch, over one group's entries: going up the log, the entry of the
 * latest epoch at or below each sequence (of several, the highest placed).
 */
function laterEpochFindings(entries: readonly LogEntry[], found: Map<LogEntry, Finding>): void {
  let latest: LogEntry | null = null;
  for (const run of runsBySequence(entries)) {
    for (const entry of run) if (latest === null || entry.epoch >= latest.epoch) latest = entry;
    const evidence = latest as LogEntry;
    for (const entry of run) {
      if (isSync(entry) && evidence.epoch > entry.epoch) {
        found.set(entry, { lost: entry, evidence, rule: 'later-epoch' });
      }
    }
  }
}

/**
 * same-sequence and invoked-after, over one epoch's entries of a group:
 * going up the log, the latest-invoked entry below each sequence.
 */
function sameEpochFindings(entries: readonly LogEntry[], found: Map<LogEntry, Finding>): void {
  let latestInvoked: LogEntry | null = null;
  for (const run of runsBySequence(entries)) {
    for (const entry of run) {
      if (!isSync(entry) || found.has(entry)) continue;
      if (run.length > 1) {
        const evidence = (entry === run[0] ? run[1] : run[0]) as LogEntry;
        found.set(entry, { lost: entry, evidence, rule: 'same-sequence' });
      } else if (latestInvoked !== null && latestInvoked.write.invokedMs > (entry.write.completedMs as number)) {
        found.set(entry, { lost: entry, evidence: latestInvoked, rule: 'invoked-after' });
      }
    }
    for (const entry of run) {
      if (latestInvoked === null || entry.write.invokedMs > latestInvoked.write.invokedMs) latestInvoked = entry;
    }
  }
}

function keysOf(write: ChaosOperation): string[] {
  switch (write.kind) {
    case 'put':
    case 'delete':
    case 'cas':
      return [write.op.key];
    case 'txn':
      return [...new Set([...write.op.compares, ...write.op.success, ...write.op.failure].map(({ key }) => key))];
    default:
      return [];
  }
}

function describeEntry({ write, epoch, sequence }: LogEntry): string {
  const keys = keysOf(write);
  return (
    `${nameOf(write)}${keys.length === 0 ? '' : ` on ${keys.map((key) => JSON.stringify(key)).join(', ')}`}, ` +
    `invoked at ${write.invokedMs} ms and acknowledged at ${write.completedMs} ms at epoch ${epoch} sequence ${sequence}`
  );
}

const whyLost: Record<WritePositionRule, string> = {
  'later-epoch': 'took a position at or below it in a later epoch',
  'same-sequence': 'took the same entry',
  'invoked-after': 'was invoked after it was acknowledged, yet took a position below it',
};

/**
 * No acknowledged sync write lost from its group's log (see the rule at the
 * top of this file). O(n log n): each group's entries are sorted by sequence
 * once, and once more per epoch.
 */
export function checkWritePositions(
  input: HistoryInput,
  options: { readonly anomaliesMax?: number } = {},
): WritePositionsResult {
  const history = asHistory(input);
  const groups = new Map<string, LogEntry[]>();
  let writesWithoutPosition = 0;
  history.operations.forEach((write, order) => {
    const result = writeResultOf(write);
    if (result === null) return;
    const { group, epoch, sequence } = result;
    if (epoch === undefined || sequence === undefined) {
      writesWithoutPosition += 1;
      return;
    }
    const entry = { write, group, epoch, sequence, order };
    const entries = groups.get(group);
    if (entries) entries.push(entry);
    else groups.set(group, [entry]);
  });
  const found = new Map<LogEntry, Finding>();
  let writesChecked = 0;
  for (const entries of groups.values()) {
    writesChecked += entries.length;
    laterEpochFindings(entries, found);
    const epochs = new Map<bigint, LogEntry[]>();
    for (const entry of entries) {
      const ofEpoch = epochs.get(entry.epoch);
      if (ofEpoch) ofEpoch.push(entry);
      else epochs.set(entry.epoch, [entry]);
    }
    for (const ofEpoch of epochs.values()) sameEpochFindings(ofEpoch, found);
  }
  const anomalies = new AnomalyList<SyncWriteLostFromLog>(options.anomaliesMax);
  for (const { lost, evidence, rule } of [...found.values()].sort((a, b) => a.lost.order - b.lost.order)) {
    anomalies.add({
      kind: 'sync-write-lost-from-log',
      description:
        `${lost.group}: sync ${describeEntry(lost)}, is lost from the log: ${describeEntry(evidence)}, ` +
        whyLost[rule],
      records: history.subHistory([...recordsOf(lost.write), ...recordsOf(evidence.write)]),
      group: lost.group,
      rule,
      opId: lost.write.opId,
      evidenceOpId: evidence.write.opId,
    });
  }
  return { ...anomalies.result(), writesChecked, writesWithoutPosition };
}

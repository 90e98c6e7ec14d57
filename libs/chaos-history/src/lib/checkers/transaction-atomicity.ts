import { asHistory, recordsOf, type ChaosOperation, type ChaosOperationOf, type HistoryInput } from '../history-index';
import { possibleWrites } from '../key-writes';
import type { FinalReadRecord, TxnOperation } from '../records';
import { AnomalyList, nameOf, showValue, type Anomaly, type CheckerResult } from './anomalies';

// Multi-key transactions are atomic: a replica holds all of a transaction's
// writes or none. Judged on key sets whose every possible write is such a
// transaction: a txn whose success branch puts one value to every key of the
// set (and to no other key), and whose failure branch, if it may have been
// written (the txn is unknown, or its compares failed), writes none of them
// (the workload's is empty). After healing, each replica's final read must
// then hold one value (or absence) for every key of the set; keys holding
// different values are a torn transaction. A key set whose keys any other
// write may have touched (a put, a transaction of another shape or key set,
// a failure branch) is skipped: it may differ legitimately. Sets of one key
// cannot be torn and are not counted.

export interface TornTransaction extends Anomaly<'torn-transaction'> {
  /** The key set, sorted. */
  readonly keys: readonly string[];
  readonly group: string;
  /** The replica whose final read holds it. */
  readonly member: string;
  /** What that read holds for each key of the set, in the order of `keys` (null: absent). */
  readonly values: readonly (string | null)[];
  /** For each value held that a transaction of the set wrote, the one that may have taken effect last. */
  readonly opIds: readonly number[];
}

export interface TransactionAtomicityResult extends CheckerResult<TornTransaction> {
  /** Key sets of two keys or more whose every possible write is a transaction of the whole set. */
  readonly keySetsChecked: number;
  /** Key sets of such transactions whose keys other writes may have touched: not checked. */
  readonly keySetsSkipped: number;
  /** Final reads that hold every key of some checked set. */
  readonly finalReadsChecked: number;
}

/** The keys (sorted, distinct) and the one value a txn's success branch puts to them; null if it is not such a txn. */
function uniformPut(op: TxnOperation): { keys: string[]; value: string } | null {
  const [first] = op.success;
  if (first === undefined || first.type !== 'put') return null;
  const { value } = first;
  if (!op.success.every((write) => write.type === 'put' && write.value === value)) return null;
  return { keys: [...new Set(op.success.map((write) => write.key))].sort(), value };
}

/** The branches a txn may have written, as possibleWrites has them: the one its result names, both when unknown. */
function branchesOf(txn: ChaosOperationOf<'txn'>): { readonly success: boolean; readonly failure: boolean } {
  if (txn.outcome !== 'ok') return { success: txn.outcome === 'unknown', failure: txn.outcome === 'unknown' };
  const succeeded = txn.result?.succeeded === true;
  return { success: succeeded, failure: !succeeded };
}

/** The transactions of one key set. */
interface KeySet {
  readonly keys: readonly string[];
  readonly writes: { readonly txn: ChaosOperation; readonly value: string }[];
}

/** Each key's set (by the set's name), or 'other' for a key some other write may have touched. */
function keySetsOf(operations: readonly ChaosOperation[]) {
  const sets = new Map<string, KeySet>();
  const setOfKey = new Map<string, string>();
  const mark = (key: string, name: string) => {
    const earlier = setOfKey.get(key);
    setOfKey.set(key, earlier === undefined || earlier === name ? name : 'other');
  };
  for (const operation of operations) {
    const uniform = operation.kind === 'txn' ? uniformPut(operation.op) : null;
    if (operation.kind !== 'txn' || uniform === null) {
      for (const { key } of possibleWrites(operation)) setOfKey.set(key, 'other');
      continue;
    }
    const branches = branchesOf(operation);
    // Whatever the failure branch may have written, it is not the whole set's value.
    if (branches.failure) for (const { key } of operation.op.failure) setOfKey.set(key, 'other');
    if (!branches.success) continue;
    // A JSON array never collides with 'other'.
    const name = JSON.stringify(uniform.keys);
    const set = sets.get(name);
    if (set) set.writes.push({ txn: operation, value: uniform.value });
    else sets.set(name, { keys: uniform.keys, writes: [{ txn: operation, value: uniform.value }] });
    for (const key of uniform.keys) mark(key, name);
  }
  const checked: KeySet[] = [];
  let skipped = 0;
  for (const [name, set] of [...sets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (set.keys.length < 2) continue;
    if (set.keys.every((key) => setOfKey.get(key) === name)) checked.push(set);
    else skipped += 1;
  }
  return { checked, skipped };
}

/** Of the set's transactions that wrote `value` and were invoked before the read, the one that may have taken effect last. */
function lastWriterOf(set: KeySet, value: string, read: FinalReadRecord): ChaosOperation | null {
  let last: ChaosOperation | null = null;
  for (const { txn, value: written } of set.writes) {
    if (written !== value || txn.invokedMs > read.monoMs) continue;
    if (last === null || (txn.completedMs ?? Infinity) > (last.completedMs ?? Infinity)) last = txn;
  }
  return last;
}

function torn(set: KeySet, read: FinalReadRecord) {
  const values = set.keys.map((key) => read.values.get(key) as string | null);
  const held = [...new Set(values)];
  const writers = held.map((value) => (value === null ? null : lastWriterOf(set, value, read)));
  const holdings = set.keys.map((key, index) => {
    const value = values[index] as string | null;
    const writer = writers[held.indexOf(value)];
    const source = value === null ? '' : writer ? ` (${nameOf(writer)})` : ' (which no transaction of the set wrote)';
    return `${JSON.stringify(key)} holds ${showValue(value)}${source}`;
  });
  return {
    values,
    writers: writers.filter((writer): writer is ChaosOperation => writer !== null),
    description:
      `${read.group}: the final read of ${read.member} holds a torn transaction over ` +
      `${set.keys.map((key) => JSON.stringify(key)).join(', ')}, which only transactions of all of them wrote: ` +
      holdings.join(', '),
  };
}

/** No replica holds part of a transaction over a key set (see the rule at the top of this file). */
export function checkTransactionAtomicity(
  input: HistoryInput,
  options: { readonly anomaliesMax?: number } = {},
): TransactionAtomicityResult {
  const history = asHistory(input);
  const anomalies = new AnomalyList<TornTransaction>(options.anomaliesMax);
  const { checked, skipped } = keySetsOf(history.operations);
  const readsChecked = new Set<FinalReadRecord>();
  for (const set of checked) {
    for (const read of history.finalReads) {
      if (read.type !== 'final-read' || !set.keys.every((key) => read.values.has(key))) continue;
      readsChecked.add(read);
      const first = read.values.get(set.keys[0] as string);
      if (set.keys.every((key) => read.values.get(key) === first)) continue;
      const { values, writers, description } = torn(set, read);
      anomalies.add({
        kind: 'torn-transaction',
        description,
        records: history.subHistory([read, ...writers.flatMap(recordsOf)]),
        keys: set.keys,
        group: read.group,
        member: read.member,
        values,
        opIds: writers.map((writer) => writer.opId),
      });
    }
  }
  return {
    ...anomalies.result(),
    keySetsChecked: checked.length,
    keySetsSkipped: skipped,
    finalReadsChecked: readsChecked.size,
  };
}

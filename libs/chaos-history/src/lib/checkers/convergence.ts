import { asHistory, type HistoryInput } from '../history-index';
import type { FinalReadFailedRecord, FinalReadRecord } from '../records';
import { AnomalyList, showValue, type Anomaly, type CheckerResult } from './anomalies';

// After healing, every replica of a group must hold the same state: the same
// digest (which covers what the final reads do not: versions, fences,
// remembered request ids) and the same value for every key read. Each group
// is compared against the digest most of its members report, so the
// evidence names the members that differ.

export type ConvergenceAnomalyKind = 'unreachable' | 'digest-mismatch' | 'values-differ';

export interface ConvergenceAnomaly extends Anomaly<ConvergenceAnomalyKind> {
  readonly group: string;
  /** The members that are unreachable or differ from the reference (the first member with the commonest digest). */
  readonly members: readonly string[];
  /** values-differ: the keys whose values differ; otherwise empty. */
  readonly keys: readonly string[];
}

export interface ConvergenceResult extends CheckerResult<ConvergenceAnomaly> {
  readonly groupsChecked: number;
  readonly membersRead: number;
}

/** The first read of the digest most reads report (ties: the digest seen first). */
function referenceOf(reads: readonly FinalReadRecord[]): FinalReadRecord {
  const counts = new Map<string, number>();
  for (const read of reads) counts.set(read.digest, (counts.get(read.digest) ?? 0) + 1);
  let reference = reads[0] as FinalReadRecord;
  for (const read of reads) {
    if ((counts.get(read.digest) as number) > (counts.get(reference.digest) as number)) reference = read;
  }
  return reference;
}

function differingKeys(reference: FinalReadRecord, read: FinalReadRecord): string[] {
  const keys = new Set([...reference.values.keys(), ...read.values.keys()]);
  // A key one replica lists and another does not counts as differing: every replica is read for every key.
  return [...keys].filter(
    (key) => !reference.values.has(key) || !read.values.has(key) || reference.values.get(key) !== read.values.get(key),
  );
}

function held(read: FinalReadRecord, key: string): string {
  return read.values.has(key) ? showValue(read.values.get(key) as string | null) : 'nothing (it was not read there)';
}

function groupsOf(reads: readonly (FinalReadRecord | FinalReadFailedRecord)[]) {
  const groups = new Map<string, (FinalReadRecord | FinalReadFailedRecord)[]>();
  for (const read of reads) {
    const members = groups.get(read.group);
    if (members) members.push(read);
    else groups.set(read.group, [read]);
  }
  return groups;
}

/** Every replica of each group answered its final read with the same digest and the same values. */
export function checkConvergence(
  input: HistoryInput,
  options: { readonly anomaliesMax?: number } = {},
): ConvergenceResult {
  const history = asHistory(input);
  const anomalies = new AnomalyList<ConvergenceAnomaly>(options.anomaliesMax);
  const groups = groupsOf(history.finalReads);
  for (const [group, reads] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const read of reads) {
      if (read.type !== 'final-read-failed') continue;
      anomalies.add({
        kind: 'unreachable',
        description: `${group}: ${read.member} did not answer its final read after healing (${read.error})`,
        records: [read],
        group,
        members: [read.member],
        keys: [],
      });
    }
    const answered = reads.filter((read): read is FinalReadRecord => read.type === 'final-read');
    if (answered.length < 2) continue;
    const reference = referenceOf(answered);
    const digestDiffers = answered.filter((read) => read.digest !== reference.digest);
    if (digestDiffers.length > 0) {
      anomalies.add({
        kind: 'digest-mismatch',
        description:
          `${group}: ${reference.member} has digest ${reference.digest}, but ` +
          digestDiffers.map((read) => `${read.member} has ${read.digest}`).join(', '),
        records: history.subHistory([reference, ...digestDiffers]),
        group,
        members: digestDiffers.map((read) => read.member),
        keys: [],
      });
    }
    const valueDiffs = answered
      .map((read) => ({ read, keys: differingKeys(reference, read) }))
      .filter(({ keys }) => keys.length > 0);
    if (valueDiffs.length > 0) {
      const keys = [...new Set(valueDiffs.flatMap(({ keys }) => keys))].sort();
      const example = valueDiffs[0] as { read: FinalReadRecord; keys: string[] };
      const key = example.keys[0] as string;
      anomalies.add({
        kind: 'values-differ',
        description:
          `${group}: ${keys.length} keys differ between replicas, e.g. ${JSON.stringify(key)}: ` +
          `${reference.member} holds ${held(reference, key)}, ${example.read.member} holds ${held(example.read, key)}`,
        records: history.subHistory([reference, ...valueDiffs.map(({ read }) => read)]),
        group,
        members: valueDiffs.map(({ read }) => read.member),
        keys,
      });
    }
  }
  return {
    ...anomalies.result(),
    groupsChecked: groups.size,
    membersRead: history.finalReads.length,
  };
}

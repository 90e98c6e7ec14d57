import { asHistory, recordsOf, type ChaosOperation, type HistoryInput } from '../history-index';
import { fenceOf, groupOf } from '../key-writes';
import { AnomalyList, nameOf, type Anomaly, type CheckerResult } from './anomalies';

// A replica group keeps, per lock name, the highest fencing token of a write
// it accepted, and refuses a write with a lower one (an equal one passes: a
// holder writes many times). Each group keeps its own, so only writes
// acknowledged by the same group are compared. Any ok fenced write raised
// the group's fence, also a cas or txn whose compare failed.

interface FencedWrite {
  readonly write: ChaosOperation;
  readonly token: bigint;
}

export interface StaleTokenAccepted extends Anomaly<'stale-token-accepted'> {
  readonly lockName: string;
  readonly group: string;
  /** The write that raised the fence, then the one with the lower token that was accepted after. */
  readonly opIds: readonly [number, number];
}

export interface StaleTokenWritesResult extends CheckerResult<StaleTokenAccepted> {
  /** Fenced writes acknowledged ok. */
  readonly fencedWritesAccepted: number;
  /** Fenced writes that failed (for any reason: a stale token is one). */
  readonly fencedWritesRefused: number;
}

/**
 * No stale-token write accepted: a fenced write acknowledged ok must not carry
 * a lower token than an ok fenced write of the same lock that the same group
 * acknowledged before it was invoked.
 */
export function checkStaleTokenWrites(
  input: HistoryInput,
  options: { readonly anomaliesMax?: number } = {},
): StaleTokenWritesResult {
  const history = asHistory(input);
  const anomalies = new AnomalyList<StaleTokenAccepted>(options.anomaliesMax);
  const scopes = new Map<string, { lockName: string; group: string; writes: FencedWrite[] }>();
  let fencedWritesRefused = 0;
  for (const write of history.operations) {
    const fence = fenceOf(write);
    if (fence === undefined) continue;
    if (write.outcome === 'fail') fencedWritesRefused += 1;
    const group = groupOf(write);
    if (group === null) continue;
    const scope = JSON.stringify([fence.lockName, group]);
    const writes = scopes.get(scope)?.writes;
    if (writes) writes.push({ write, token: fence.token });
    else scopes.set(scope, { lockName: fence.lockName, group, writes: [{ write, token: fence.token }] });
  }
  let fencedWritesAccepted = 0;
  for (const { lockName, group, writes } of scopes.values()) {
    fencedWritesAccepted += writes.length;
    // Writes are in invocation order; sweep them knowing the highest token acknowledged before each was invoked.
    const byCompletion = [...writes].sort((a, b) => (a.write.completedMs as number) - (b.write.completedMs as number));
    let completed = 0;
    let highest: FencedWrite | null = null;
    for (const later of writes) {
      while (
        completed < byCompletion.length &&
        ((byCompletion[completed] as FencedWrite).write.completedMs as number) < later.write.invokedMs
      ) {
        const earlier = byCompletion[completed++] as FencedWrite;
        if (highest === null || earlier.token > highest.token) highest = earlier;
      }
      if (highest === null || later.token >= highest.token) continue;
      anomalies.add({
        kind: 'stale-token-accepted',
        description:
          `lock ${JSON.stringify(lockName)} on ${group}: ${nameOf(highest.write)} with token ${highest.token} ` +
          `was acknowledged at ${highest.write.completedMs} ms, then ${nameOf(later.write)}, invoked at ` +
          `${later.write.invokedMs} ms with the lower token ${later.token}, was accepted too`,
        records: history.subHistory([...recordsOf(highest.write), ...recordsOf(later.write)]),
        lockName,
        group,
        opIds: [highest.write.opId, later.write.opId],
      });
    }
  }
  return { ...anomalies.result(), fencedWritesAccepted, fencedWritesRefused };
}

import { asHistory, recordsOf, type ChaosHistory, type ChaosOperationOf, type HistoryInput } from '../history-index';
import type { ChaosRecord } from '../records';
import { AnomalyList, nameOf, type Anomaly, type CheckerResult } from './anomalies';

// The lock service's promises, checked from the clients' side on the one
// monotonic clock of the run. A grant is known to its client from its ok
// (the grant happened somewhere between invocation and ok, so the client
// cannot act before the ok), and the client may act under it until its
// validUntilMonoMs or until it invokes the release of that grant, whichever
// comes first. That interval is what the service must keep exclusive; a
// blocking Acquire invoked while another holds the lock is no conflict.

interface Grant {
  readonly acquire: ChaosOperationOf<'lock-acquire'>;
  readonly name: string;
  readonly token: bigint;
  /** When the client learnt of it. */
  readonly grantedMs: number;
  /** When the client stops acting under it: its validity, or the invocation of its release. */
  readonly heldUntilMs: number;
}

const releaseKey = (name: string, owner: string, token: bigint) => JSON.stringify([name, owner, token.toString()]);

/** Every ok grant of the history, grouped by lock name, each list in order of grantedMs. */
function grantsByLock(history: ChaosHistory): Map<string, Grant[]> {
  const releases = new Map<string, ChaosOperationOf<'lock-release'>[]>();
  for (const operation of history.operations) {
    if (operation.kind !== 'lock-release') continue;
    const { name, owner, token } = operation.op;
    const key = releaseKey(name, owner, token);
    const list = releases.get(key);
    if (list) list.push(operation);
    else releases.set(key, [operation]);
  }
  const byLock = new Map<string, Grant[]>();
  for (const acquire of history.operations) {
    if (acquire.kind !== 'lock-acquire' || !acquire.result?.acquired) continue;
    const { name, owner } = acquire.op;
    const { token, validUntilMonoMs } = acquire.result;
    const grantedMs = acquire.completedMs as number;
    // Operations are in invocation order, so the first release invoked after the grant is the one that ends it.
    const release =
      releases.get(releaseKey(name, owner, token))?.find((candidate) => candidate.invokedMs >= grantedMs) ?? null;
    const heldUntilMs = Math.min(validUntilMonoMs, release?.invokedMs ?? Infinity);
    const grant: Grant = { acquire, name, token, grantedMs, heldUntilMs };
    const list = byLock.get(name);
    if (list) list.push(grant);
    else byLock.set(name, [grant]);
  }
  for (const grants of byLock.values()) grants.sort((a, b) => a.grantedMs - b.grantedMs);
  return byLock;
}

const describeGrant = (grant: Grant) =>
  `${nameOf(grant.acquire)} (owner ${JSON.stringify(grant.acquire.op.owner)}, token ${grant.token})`;

/**
 * The grants' acquires: enough to show an anomaly, since the releases left
 * out could only have shortened the held intervals, never made them overlap.
 */
const acquiresOf = (...grants: Grant[]): ChaosRecord[] => grants.flatMap((grant) => recordsOf(grant.acquire));

export interface DoubleGrant extends Anomaly<'double-grant'> {
  readonly lockName: string;
  /** The two acquires, the earlier grant first. */
  readonly opIds: readonly [number, number];
}

export interface MutualExclusionResult extends CheckerResult<DoubleGrant> {
  readonly grantsChecked: number;
}

/**
 * Mutual exclusion while leases are valid: two grants of one lock whose held
 * intervals [ok, min(validUntilMonoMs, release invocation)) overlap are a
 * double grant. Touching intervals do not overlap.
 */
export function checkLockMutualExclusion(
  input: HistoryInput,
  options: { readonly anomaliesMax?: number } = {},
): MutualExclusionResult {
  const history = asHistory(input);
  const anomalies = new AnomalyList<DoubleGrant>(options.anomaliesMax);
  let grantsChecked = 0;
  for (const [lockName, grants] of grantsByLock(history)) {
    grantsChecked += grants.length;
    // Grants still held when the next one (in grant order) arrives.
    let held: Grant[] = [];
    for (const grant of grants) {
      // A grant whose validity was spent before its client heard of it is never held.
      if (grant.heldUntilMs <= grant.grantedMs) continue;
      held = held.filter((earlier) => earlier.heldUntilMs > grant.grantedMs);
      for (const earlier of held) {
        anomalies.add({
          kind: 'double-grant',
          description:
            `lock ${JSON.stringify(lockName)}: ${describeGrant(earlier)} held it from ${earlier.grantedMs} ms ` +
            `until ${earlier.heldUntilMs} ms, and ${describeGrant(grant)} was granted it at ${grant.grantedMs} ms`,
          records: history.subHistory(acquiresOf(earlier, grant)),
          lockName,
          opIds: [earlier.acquire.opId, grant.acquire.opId],
        });
      }
      held.push(grant);
    }
  }
  return { ...anomalies.result(), grantsChecked };
}

export type TokenOrderAnomalyKind = 'duplicate-token' | 'later-grant-lower-token';

export interface TokenOrderAnomaly extends Anomaly<TokenOrderAnomalyKind> {
  readonly lockName: string;
  /** The two acquires: the earlier (or first) grant, then the offending one. */
  readonly opIds: readonly [number, number];
}

export interface TokenOrderResult extends CheckerResult<TokenOrderAnomaly> {
  readonly grantsChecked: number;
}

/**
 * Fencing tokens per lock are unique, and strictly increase in real-time
 * order: a grant whose acquire was invoked after another grant's ok has a
 * higher token than it.
 */
export function checkFencingTokenOrder(
  input: HistoryInput,
  options: { readonly anomaliesMax?: number } = {},
): TokenOrderResult {
  const history = asHistory(input);
  const anomalies = new AnomalyList<TokenOrderAnomaly>(options.anomaliesMax);
  let grantsChecked = 0;
  for (const [lockName, byGrant] of grantsByLock(history)) {
    grantsChecked += byGrant.length;
    const firstWithToken = new Map<bigint, Grant>();
    for (const grant of byGrant) {
      const first = firstWithToken.get(grant.token);
      if (first === undefined) {
        firstWithToken.set(grant.token, grant);
        continue;
      }
      anomalies.add({
        kind: 'duplicate-token',
        description: `lock ${JSON.stringify(lockName)}: ${describeGrant(first)} and ${describeGrant(grant)} got the same token`,
        records: history.subHistory(acquiresOf(first, grant)),
        lockName,
        opIds: [first.acquire.opId, grant.acquire.opId],
      });
    }
    // Sweep the grants in invocation order, knowing the highest token returned before each was invoked.
    const byInvocation = [...byGrant].sort((a, b) => a.acquire.invokedMs - b.acquire.invokedMs);
    let returned = 0;
    let highest: Grant | null = null;
    for (const grant of byInvocation) {
      while (returned < byGrant.length && (byGrant[returned] as Grant).grantedMs < grant.acquire.invokedMs) {
        const earlier = byGrant[returned++] as Grant;
        if (highest === null || earlier.token > highest.token) highest = earlier;
      }
      if (highest === null || grant.token >= highest.token) continue;
      anomalies.add({
        kind: 'later-grant-lower-token',
        description:
          `lock ${JSON.stringify(lockName)}: ${describeGrant(grant)} was invoked at ${grant.acquire.invokedMs} ms, ` +
          `after ${describeGrant(highest)} was granted at ${highest.grantedMs} ms, and got a lower token`,
        records: history.subHistory(acquiresOf(highest, grant)),
        lockName,
        opIds: [highest.acquire.opId, grant.acquire.opId],
      });
    }
  }
  return { ...anomalies.result(), grantsChecked };
}

// The planted bugs, one history each, every one caught by the
// checker made for it with the smallest sub-history that shows it; and a
// clean history with every kind of record that passes them all.
import {
  acquire,
  boundedGet,
  cas,
  ChaosHistoryBuilder,
  casOk,
  committedAt,
  del,
  deleteOk,
  get,
  getOk,
  granted,
  put,
  putOk,
  release,
  released,
  replica,
  txnOk,
  txnPutAll,
} from '../testing';
import { checkChaosHistory, type ChaosCheckReport } from './check-chaos-history';
import { indexChaosHistory, recordsOf } from './history-index';
import { formatChaosHistory, parseChaosHistory } from './json-lines';
import type { ChaosRecord } from './records';

const options = { asyncLossWindow: { beforeFaultMs: 500, afterFaultMs: 700 } };

/** The checkers that found something, by name. */
function failing(report: ChaosCheckReport): string[] {
  return Object.entries(report).flatMap(([name, result]) =>
    typeof result === 'object' && result.anomalyCount > 0 ? [name] : [],
  );
}

/** The records of the given operations, in history order. */
function recordsOfOps(records: readonly ChaosRecord[], opIds: readonly number[]): ChaosRecord[] {
  return indexChaosHistory(records)
    .operations.filter((operation) => opIds.includes(operation.opId))
    .flatMap(recordsOf)
    .sort((a, b) => records.indexOf(a) - records.indexOf(b));
}

const finalReads = (history: ChaosHistoryBuilder, atMs: number, values: Record<string, string | null>) =>
  ['replica-a1', 'replica-a2', 'replica-a3'].forEach((member) =>
    history.finalRead('group-a', member, atMs, 'digest-1', values),
  );

describe('checkChaosHistory on planted bugs', () => {
  it('catches a lost write: an acknowledged sync put that no replica holds after healing', () => {
    const history = new ChaosHistoryBuilder();
    const first = history.ok('c1', put('k', 'a'), [0, 10], putOk());
    const lost = history.ok('c2', put('k', 'b'), [20, 30], putOk());
    history.ok('c3', get('k'), [40, 50], getOk('b'));
    history.fault('kill', [replica('replica-a1', 'group-a', true)], [60, 200]);
    finalReads(history, 300, { k: 'a' });
    const records = history.records;

    const report = checkChaosHistory(records, options);

    expect(failing(report)).toEqual(['lostSyncWrites']);
    const [anomaly] = report.lostSyncWrites.anomalies;
    expect(anomaly).toMatchObject({ kind: 'lost-sync-write', opId: lost, key: 'k' });
    expect(anomaly?.members).toEqual(['replica-a1', 'replica-a2', 'replica-a3']);
    // The put lost, the put whose value came back, and one final read that shows it.
    const read = records.find((record) => record.type === 'final-read');
    expect(anomaly?.records).toEqual([...recordsOfOps(records, [first, lost]), read]);
    expect(anomaly?.description).toBe(
      'sync put #2 by c2 set "k" to "b", invoked at 20 ms and acknowledged at 30 ms, is lost: replica-a1 holds "a" ' +
        '(last written by put #1 by c1, completed at 10 ms); replica-a2 holds "a" (last written by put #1 by c1, ' +
        'completed at 10 ms); replica-a3 holds "a" (last written by put #1 by c1, completed at 10 ms)',
    );
  });

  it('catches a stale read, shrunk to the writes it missed and the read itself', () => {
    const history = new ChaosHistoryBuilder();
    const a = history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.ok('c3', get('k'), [2, 6], getOk(null));
    const b = history.ok('c1', put('k', 'b'), [20, 30], putOk());
    history.ok('c3', get('k'), [32, 35], getOk('b'));
    const stale = history.ok('c2', get('k'), [40, 50], getOk('a', 'replica-a3'));
    finalReads(history, 300, { k: 'b' });
    const records = history.records;

    const report = checkChaosHistory(records, options);

    expect(failing(report)).toEqual(['linearizability']);
    const [anomaly] = report.linearizability.anomalies;
    expect(anomaly).toMatchObject({
      kind: 'not-linearizable',
      key: 'k',
      failingPrefixOperations: 5,
      opIds: [a, b, stale],
      minimal: true,
    });
    expect(anomaly?.records).toEqual(recordsOfOps(records, [a, b, stale]));
  });

  it('catches a double grant: a second holder granted while the first lease is still valid', () => {
    const history = new ChaosHistoryBuilder();
    const first = history.ok('c1', acquire('L', 'o1'), [0, 5], granted(1n, 990));
    const second = history.ok('c2', acquire('L', 'o2'), [10, 500], granted(2n, 1500));
    history.ok('c2', release('L', 'o2', 2n), [600, 610], released());
    const records = history.records;

    const report = checkChaosHistory(records, options);

    expect(failing(report)).toEqual(['lockMutualExclusion']);
    const [anomaly] = report.lockMutualExclusion.anomalies;
    expect(anomaly).toMatchObject({ kind: 'double-grant', lockName: 'L', opIds: [first, second] });
    expect(anomaly?.records).toEqual(recordsOfOps(records, [first, second]));
  });

  it('catches a stale-token write accepted: a paused holder writes after the next holder did', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', acquire('L', 'o1'), [0, 5], granted(1n, 100));
    history.ok('c1', put('k', 'v1', { fence: { lockName: 'L', token: 1n } }), [10, 20], putOk());
    history.ok('c2', acquire('L', 'o2'), [50, 150], granted(2n, 1100));
    const newer = history.ok('c2', put('k', 'v2', { fence: { lockName: 'L', token: 2n } }), [160, 170], putOk());
    const stale = history.ok('c1', put('k', 'v3', { fence: { lockName: 'L', token: 1n } }), [200, 210], putOk());
    finalReads(history, 300, { k: 'v3' });
    const records = history.records;

    const report = checkChaosHistory(records, options);

    expect(failing(report)).toEqual(['staleTokenWrites']);
    const [anomaly] = report.staleTokenWrites.anomalies;
    expect(anomaly).toMatchObject({ kind: 'stale-token-accepted', lockName: 'L', group: 'group-a' });
    expect(anomaly?.opIds).toEqual([newer, stale]);
    expect(anomaly?.records).toEqual(recordsOfOps(records, [newer, stale]));
  });

  it('catches a sync write lost from the log that a new epoch overwrote before anyone read it, and only by its position', () => {
    const history = new ChaosHistoryBuilder();
    const lost = history.ok('c1', put('k', 'a'), [0, 10], committedAt(1n, 10n, putOk()));
    history.fault('kill', [replica('replica-a1', 'group-a', true)], [20, 200]);
    const overwrite = history.ok('c2', put('k', 'b'), [100, 110], committedAt(2n, 10n, putOk()));
    history.ok('c3', get('k'), [120, 130], getOk('b'));
    finalReads(history, 300, { k: 'b' });
    const records = history.records;

    const report = checkChaosHistory(records, options);

    expect(failing(report)).toEqual(['writePositions']);
    expect(report.anomalyCount).toBe(1);
    const [anomaly] = report.writePositions.anomalies;
    expect(anomaly).toMatchObject({ kind: 'sync-write-lost-from-log', rule: 'later-epoch', opId: lost });
    expect(anomaly?.evidenceOpId).toBe(overwrite);
    expect(anomaly?.records).toEqual(recordsOfOps(records, [lost, overwrite]));
  });
});

describe('checkChaosHistory on a clean history', () => {
  /**
   * Concurrent clients, unknown and failed outcomes, a failover (whose new epoch's log continues above every
   * sync write), locks with fenced writes, converged replicas.
   */
  function cleanHistory(): ChaosRecord[] {
    const history = new ChaosHistoryBuilder();
    // Acknowledged after the failover, by the new primary: the read at 50 ms sees it.
    history.ok('c1', put('x', 'x1'), [0, 40], committedAt(2n, 4n, putOk()));
    history.ok('c2', put('x', 'x2'), [10, 30], committedAt(1n, 2n, putOk()));
    history.ok('c3', get('x'), [35, 38], getOk('x2'));
    history.ok('c3', get('x'), [50, 55], getOk('x1'));
    history.unknown('c2', put('x', 'x3'), [60, 90]);
    history.fail('c1', put('x', 'x4'), [62, 70]);
    history.ok('c1', cas('x', 'x1', 'x5'), [100, 120], committedAt(2n, 6n, casOk(false)));
    history.ok('c1', get('x'), [130, 140], getOk('x3'));
    history.ok('c2', del('y'), [0, 5], committedAt(1n, 1n, deleteOk()));
    // Lost in the failover, as async writes may be: epoch 2 reuses its entry.
    history.ok('c2', put('y', 'y1', { durability: 'async' }), [10, 20], committedAt(1n, 4n, putOk()));
    history.fault('kill', [replica('replica-a1', 'group-a', true)], [25, 400]);
    history.ok('c3', get('y', 'eventual'), [30, 31], getOk(null, 'replica-a2'));
    history.ok('c4', acquire('L', 'o4'), [0, 3], granted(1n, 99));
    history.ok('c4', put('z', 'z1', { fence: { lockName: 'L', token: 1n } }), [10, 20], committedAt(1n, 3n, putOk()));
    history.ok('c4', release('L', 'o4', 1n), [30, 35], released());
    history.ok('c5', acquire('L', 'o5'), [5, 40], granted(2n, 105));
    history.ok('c5', put('z', 'z2', { fence: { lockName: 'L', token: 2n } }), [50, 60], committedAt(2n, 5n, putOk()));
    history.fail(
      'c4',
      put('z', 'z3', { fence: { lockName: 'L', token: 1n } }),
      [70, 75],
      'failed-precondition: fence.token',
    );
    history.unknown('c5', acquire('L', 'o5'), [120, null]);
    finalReads(history, 1_000, { x: 'x3', y: null, z: 'z2' });
    return history.records;
  }

  it('passes every checker, and the same after a trip through the file format', () => {
    const records = cleanHistory();
    const report = checkChaosHistory(records, options);
    expect(failing(report)).toEqual([]);
    expect(report.anomalyCount).toBe(0);
    expect(report.linearizability).toMatchObject({
      keysDecided: 2,
      excludedKeys: [{ key: 'y', reason: 'async-write', opId: 10 }],
      undecidedKeys: [],
    });
    expect(report.lostSyncWrites).toMatchObject({ syncWritesChecked: 5, keysWithoutFinalRead: [] });
    expect(report.asyncWriteLoss).toMatchObject({
      asyncWritesChecked: 1,
      asyncWritesLost: 1,
      asyncWritesLostWithinWindow: 1,
    });
    expect(report.convergence).toMatchObject({ groupsChecked: 1, membersRead: 3 });
    expect(report.lockMutualExclusion.grantsChecked).toBe(2);
    expect(report.staleTokenWrites).toMatchObject({ fencedWritesAccepted: 2, fencedWritesRefused: 1 });
    expect(report.writePositions).toMatchObject({ writesChecked: 7, writesWithoutPosition: 0 });
    expect(report.readFreshness).toMatchObject({
      readsChecked: { strong: 3, bounded: 0, eventual: 0 },
      keysSkipped: ['y'],
      readsSkipped: 1,
    });
    expect(report.transactionAtomicity).toMatchObject({ keySetsChecked: 0, keySetsSkipped: 0 });

    const reread = parseChaosHistory(formatChaosHistory(records));
    expect(reread).toEqual(records);
    expect(checkChaosHistory(reread, options)).toEqual(report);
  });
});

describe('checkChaosHistory on planted read and transaction bugs', () => {
  it('catches a bounded read staler than its bound, which only the read-freshness checker judges', () => {
    const history = new ChaosHistoryBuilder();
    const a = history.ok('c1', put('k', 'a'), [0, 10], putOk());
    const b = history.ok('c1', put('k', 'b'), [20, 30], putOk());
    history.ok('c3', get('k'), [40, 50], getOk('b'));
    const stale = history.ok('c2', boundedGet('k', 1_000), [2_000, 2_010], getOk('a', 'replica-a3'));
    finalReads(history, 3_000, { k: 'b' });
    const records = history.records;

    const report = checkChaosHistory(records, options);

    expect(failing(report)).toEqual(['readFreshness']);
    expect(report.anomalyCount).toBe(1);
    const [anomaly] = report.readFreshness.anomalies;
    expect(anomaly).toMatchObject({ kind: 'stale-bounded-read', opId: stale, member: 'replica-a3', staleMs: 1_970 });
    expect(anomaly?.records).toEqual(recordsOfOps(records, [a, b, stale]));
    // A slack as wide as the staleness lets it pass.
    expect(checkChaosHistory(records, { ...options, readFreshness: { slackMs: 1_000 } }).anomalyCount).toBe(0);
  });

  it('catches an eventual read of a value nobody wrote', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    const phantom = history.ok('c2', get('k', 'eventual'), [20, 30], getOk('never-written', 'replica-a2'));
    finalReads(history, 300, { k: 'a' });
    const records = history.records;

    const report = checkChaosHistory(records, options);

    expect(failing(report)).toEqual(['readFreshness']);
    expect(report.readFreshness.anomalies).toMatchObject([{ kind: 'phantom-value', opId: phantom }]);
    expect(report.readFreshness.anomalies[0]?.records).toEqual(recordsOfOps(records, [phantom]));
  });

  it('catches a torn pair that every replica holds alike, which only the transaction checker sees', () => {
    const history = new ChaosHistoryBuilder();
    // Concurrent, so that either may have come last: every key's final value is explained on its own.
    const first = history.ok('c1', txnPutAll(['p/a', 'p/b'], 't1'), [0, 100], txnOk(true));
    const second = history.ok('c2', txnPutAll(['p/a', 'p/b'], 't2'), [10, 50], txnOk(true));
    finalReads(history, 300, { 'p/a': 't1', 'p/b': 't2' });
    const records = history.records;

    const report = checkChaosHistory(records, options);

    expect(failing(report)).toEqual(['transactionAtomicity']);
    expect(report.transactionAtomicity).toMatchObject({ anomalyCount: 3, keySetsChecked: 1, finalReadsChecked: 3 });
    const [anomaly] = report.transactionAtomicity.anomalies;
    expect(anomaly).toMatchObject({ kind: 'torn-transaction', member: 'replica-a1', opIds: [first, second] });
    expect(anomaly?.records).toEqual([
      ...recordsOfOps(records, [first, second]),
      records.find((record) => record.type === 'final-read'),
    ]);
  });

  it('passes reads within their bounds and whole transactions', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.ok('c1', put('k', 'b'), [20, 30], putOk());
    history.ok('c2', boundedGet('k', 1_000), [1_000, 1_010], getOk('a'));
    history.ok('c2', get('k', 'eventual'), [1_000, 1_010], getOk('b'));
    history.ok('c1', txnPutAll(['p/a', 'p/b'], 't1'), [0, 100], txnOk(true));
    history.unknown('c2', txnPutAll(['p/a', 'p/b'], 't2'), [10, 50]);
    finalReads(history, 3_000, { k: 'b', 'p/a': 't2', 'p/b': 't2' });

    const report = checkChaosHistory(history.records, options);

    expect(report.anomalyCount).toBe(0);
    expect(report.readFreshness).toMatchObject({ readsChecked: { strong: 0, bounded: 1, eventual: 1 } });
    expect(report.transactionAtomicity).toMatchObject({ keySetsChecked: 1, finalReadsChecked: 3 });
  });
});

// The report's figures from histories small enough to work out by hand:
// the time line's buckets, operations in and outside fault windows, a
// failover time, async loss carried over, and anomalies with their
// sub-history as re-checkable lines.
import {
  checkChaosHistory,
  checkLockMutualExclusion,
  parseChaosHistory,
  type ChaosCheckReport,
  type ChaosRecord,
} from '@bulwark/chaos-history';
import { acquire, ChaosHistoryBuilder, get, getOk, granted, put, putOk, replica } from '@bulwark/chaos-history/testing';
import { reportFigures } from './report-figures';
import { timelineBucketsMax } from './timeline';

const checkOptions = { asyncLossWindow: { beforeFaultMs: 500, afterFaultMs: 700 } };
const check = (records: readonly ChaosRecord[], anomaliesMax?: number): ChaosCheckReport =>
  checkChaosHistory(records, { ...checkOptions, anomaliesMax });
const notAcquired = { kind: 'lock-acquire', acquired: false } as const;

/**
 * From 1000 ms (second 0) to 5004 ms: a kill of group-a's primary from 2000
 * to 4000 ms (seconds 1 to 3) and a pause of a group-b backup from 4500 to
 * 4800 ms. Each operation's comment: in or outside a fault, the second it
 * is counted in, its latency.
 */
function runWithFailover() {
  const history = new ChaosHistoryBuilder();
  history.ok('c1', put('k', 'a'), [1_000, 1_010], putOk()); // outside, s0, write 10
  history.ok('c2', get('k'), [1_100, 1_130], getOk('a')); // outside, s0, read 30
  history.unknown('c5', put('k', 'b'), [1_500, 2_600]); // outside, s0 (invoked)
  history.ok('c6', put('k2', 'x'), [1_900, 2_900], putOk()); // outside, s1, write 1000
  const kill = history.fault('kill', [replica('replica-a1', 'group-a', true)], [2_000, 4_000]);
  history.fail('c2', put('k3', 'c'), [2_100, 2_200]); // in, s1
  history.ok('c7', put('k4', 'y'), [2_100, 2_150], putOk('group-b')); // in, s1, write 50
  history.ok('c3', get('k'), [2_300, 2_350], getOk('a')); // in, s1, read 50
  history.unknown('c8', get('k'), [2_400, null]); // in, s1 (invoked)
  const firstWriteAfterKill = history.ok('c1', put('k5', 'd'), [2_500, 3_200], putOk()); // in, s2, write 700
  history.ok('c4', acquire('L', 'o4'), [3_000, 3_005], notAcquired); // in, s2, lock 5
  const pause = history.fault('pause', [replica('replica-b2', 'group-b')], [4_500, 4_800]);
  history.ok('c1', get('k'), [5_000, 5_004], getOk('a')); // outside, s4, read 4
  return { records: history.records, kill, pause, firstWriteAfterKill };
}

describe('reportFigures', () => {
  it('counts each second from the first invocation: ok and failed by completion, unknown by invocation', () => {
    const { records } = runWithFailover();

    const figures = reportFigures(records, check(records));

    expect(figures.originMonoMs).toBe(1_000);
    expect(figures.originWallMs).toBe(records[0]?.wallMs);
    expect(figures.durationSeconds).toBe(4.004);
    expect(figures.operations).toEqual({ total: 11, ok: 8, failed: 1, unknown: 2 });
    const { timeline } = figures;
    expect(timeline.bucketSeconds).toBe(1);
    expect(timeline.seconds).toEqual([0, 1, 2, 3, 4]);
    expect(timeline.ok).toEqual([2, 3, 2, 0, 1]);
    expect(timeline.failed).toEqual([0, 1, 0, 0, 0]);
    expect(timeline.unknown).toEqual([1, 1, 0, 0, 0]);
    // Nearest rank: second 1's latencies [50, 50, 1000] have p50 50 and p99 1000.
    expect(timeline.latency.all).toEqual({
      p50Ms: [10, 50, 5, null, 4],
      p99Ms: [30, 1_000, 700, null, 4],
    });
    expect(timeline.latency.read).toEqual({ p50Ms: [30, 50, null, null, 4], p99Ms: [30, 50, null, null, 4] });
    expect(timeline.latency.write).toEqual({
      p50Ms: [10, 50, 700, null, null],
      p99Ms: [10, 1_000, 700, null, null],
    });
  });

  it('splits success and latency by whether an operation was invoked during a fault; a refused acquire answered', () => {
    const { records } = runWithFailover();

    const { inFaults, outsideFaults } = reportFigures(records, check(records));

    expect(inFaults.success).toEqual({ operations: 6, ok: 4, rate: 4 / 6 });
    expect(inFaults.latency).toEqual({
      all: { count: 4, p50Ms: 50, p99Ms: 700, maxMs: 700 },
      read: { count: 1, p50Ms: 50, p99Ms: 50, maxMs: 50 },
      write: { count: 2, p50Ms: 50, p99Ms: 700, maxMs: 700 },
      lock: { count: 1, p50Ms: 5, p99Ms: 5, maxMs: 5 },
    });
    expect(outsideFaults.success).toEqual({ operations: 5, ok: 4, rate: 0.8 });
    expect(outsideFaults.latency).toEqual({
      all: { count: 4, p50Ms: 10, p99Ms: 1_000, maxMs: 1_000 },
      read: { count: 2, p50Ms: 4, p99Ms: 30, maxMs: 30 },
      write: { count: 2, p50Ms: 10, p99Ms: 1_000, maxMs: 1_000 },
      lock: { count: 0, p50Ms: null, p99Ms: null, maxMs: null },
    });
  });

  it("times a failover from the fault's start to the first ok write of the group invoked after it", () => {
    const { records, kill, pause } = runWithFailover();

    const figures = reportFigures(records, check(records));

    // Not the group-a write invoked before the kill (done at 2900 ms), nor group-b's (2150 ms): the one done at 3200 ms.
    expect(figures.faults).toEqual([
      {
        faultId: kill,
        kind: 'kill',
        detail: 'kill',
        targets: [replica('replica-a1', 'group-a', true)],
        onPrimary: true,
        startSecond: 1,
        endSecond: 3,
        lengthMs: 2_000,
        failoverMs: 1_200,
        during: { ok: 4, failed: 1, unknown: 1 },
      },
      {
        faultId: pause,
        kind: 'pause',
        detail: 'pause',
        targets: [replica('replica-b2', 'group-b')],
        onPrimary: false,
        startSecond: 3.5,
        endSecond: 3.8,
        lengthMs: 300,
        failoverMs: null,
        during: { ok: 0, failed: 0, unknown: 0 },
      },
    ]);
    expect(figures.failovers).toEqual({ faultsOnPrimary: 1, writesResumed: 1, p50Ms: 1_200, maxMs: 1_200 });
  });

  it('leaves a failover unmeasured when the group acknowledged no write after the fault began', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.fault('kill', [replica('replica-a1', 'group-a', true)], [100, 900]);
    history.unknown('c1', put('k', 'b'), [200, 800]);
    const { records } = history;

    const figures = reportFigures(records, check(records));

    expect(figures.faults[0]).toMatchObject({ onPrimary: true, failoverMs: null, during: { ok: 0, unknown: 1 } });
    expect(figures.failovers).toEqual({ faultsOnPrimary: 1, writesResumed: 0, p50Ms: null, maxMs: null });
  });

  it('keeps a fault that began before the first operation and one never healed on the same axis', () => {
    const history = new ChaosHistoryBuilder();
    history.fault('partition', [replica('replica-a2', 'group-a')], [500, 1_500]);
    history.ok('c1', get('k'), [1_000, 1_020], getOk(null));
    history.fault('clock-skew', [replica('replica-a3', 'group-a')], [2_000, null]);
    history.ok('c1', get('k'), [2_000, 3_000], getOk(null)); // invoked as the fault began: during it
    history.finalRead('group-a', 'replica-a1', 60_000, 'digest', { k: null });
    const { records } = history;

    const figures = reportFigures(records, check(records));

    expect(
      figures.faults.map(({ startSecond, endSecond, lengthMs }) => ({ startSecond, endSecond, lengthMs })),
    ).toEqual([
      { startSecond: -0.5, endSecond: 0.5, lengthMs: 1_000 },
      { startSecond: 1, endSecond: null, lengthMs: null },
    ]);
    // The unhealed fault lasts to the last operation, not to the final reads a minute later.
    expect(figures.durationSeconds).toBe(2);
    expect(figures.timeline.seconds).toEqual([0, 1, 2]);
    expect(figures.inFaults.success).toEqual({ operations: 2, ok: 2, rate: 1 });
    expect(figures.outsideFaults.success).toEqual({ operations: 0, ok: 0, rate: null });
  });

  it('widens the buckets of a run longer than the time line holds a second each', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', get('k'), [0, 1], getOk(null));
    history.ok('c1', get('k'), [10_800_000, 10_800_001], getOk(null)); // three hours later
    const { records } = history;

    const { timeline } = reportFigures(records, check(records));

    expect(timeline.bucketSeconds).toBe(2);
    expect(timeline.seconds.length).toBeLessThanOrEqual(timelineBucketsMax);
    expect(timeline.seconds.at(-1)).toBe(10_800);
    expect(timeline.ok.at(-1)).toBe(1);
    expect(timeline.ok.reduce((sum, count) => sum + count, 0)).toBe(2);
  });

  it('reports an empty history with nothing but zeros and nulls', () => {
    const figures = reportFigures([], check([]));

    expect(figures.operations).toEqual({ total: 0, ok: 0, failed: 0, unknown: 0 });
    expect(figures.originWallMs).toBeNull();
    expect(figures.timeline).toMatchObject({ bucketSeconds: 1, seconds: [0], ok: [0], failed: [0], unknown: [0] });
    expect(figures.inFaults.success.rate).toBeNull();
    expect(figures.outsideFaults.latency.all).toEqual({ count: 0, p50Ms: null, p99Ms: null, maxMs: null });
    expect(figures.checks.anomalyCount).toBe(0);
    expect(figures.anomalies).toEqual([]);
  });

  it('carries the async loss counts of the check report', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('lost', 'a', { durability: 'async' }), [0, 10], putOk());
    history.ok('c2', put('kept', 'b', { durability: 'async' }), [0, 10], putOk());
    history.fault('kill', [replica('replica-a1', 'group-a', true)], [100, 300]);
    for (const member of ['replica-a1', 'replica-a2', 'replica-a3']) {
      history.finalRead('group-a', member, 400, 'digest', { lost: null, kept: 'b' });
    }
    const { records } = history;

    const figures = reportFigures(records, check(records));

    expect(figures.asyncWriteLoss).toEqual({
      asyncWritesChecked: 2,
      asyncWritesLost: 1,
      asyncWritesLostWithinWindow: 1,
    });
    expect(figures.checks.anomalyCount).toBe(0);
  });

  it('lists each anomaly with its checker and its sub-history as history lines that check the same again', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', acquire('L', 'o1'), [0, 5], granted(1n, 990));
    history.ok('c2', acquire('L', 'o2'), [10, 500], granted(2n, 1_500));
    const { records } = history;
    const report = check(records);

    const figures = reportFigures(records, report);

    const [doubleGrant] = report.lockMutualExclusion.anomalies;
    expect(figures.anomalies).toEqual([
      {
        checker: 'lockMutualExclusion',
        kind: 'double-grant',
        description: doubleGrant?.description,
        recordLines: expect.any(Array),
      },
    ]);
    const lines = figures.anomalies[0]?.recordLines ?? [];
    expect(lines).toHaveLength(4);
    const reparsed = parseChaosHistory(lines.join('\n'));
    expect(reparsed).toEqual(doubleGrant?.records);
    expect(checkLockMutualExclusion(reparsed).anomalies.map(({ kind }) => kind)).toEqual(['double-grant']);
    expect(figures.checks.anomalyCount).toBe(1);
    expect(figures.checks.checkers.find(({ checker }) => checker === 'lockMutualExclusion')).toEqual({
      checker: 'lockMutualExclusion',
      title: 'Lock mutual exclusion',
      anomalyCount: 1,
      anomaliesKept: 1,
    });
    expect(figures.checks.checkers.filter(({ anomalyCount }) => anomalyCount > 0)).toHaveLength(1);
  });

  it('counts every checker once and tells the anomalies counted from those kept', () => {
    const history = new ChaosHistoryBuilder();
    for (const lock of ['L1', 'L2']) {
      history.ok('c1', acquire(lock, 'o1'), [0, 5], granted(1n, 990));
      history.ok('c2', acquire(lock, 'o2'), [10, 500], granted(2n, 1_500));
    }
    const { records } = history;

    const figures = reportFigures(records, check(records, 1));

    expect(figures.checks.checkers.map(({ checker }) => checker)).toEqual([
      'linearizability',
      'lostSyncWrites',
      'asyncWriteLoss',
      'convergence',
      'lockMutualExclusion',
      'fencingTokenOrder',
      'staleTokenWrites',
      'writePositions',
      'readFreshness',
      'transactionAtomicity',
    ]);
    expect(figures.checks.checkers[4]).toMatchObject({ anomalyCount: 2, anomaliesKept: 1 });
    expect(figures.checks.anomalyCount).toBe(2);
    expect(figures.anomalies).toHaveLength(1);
  });

  it('is plain JSON: written and read back unchanged', () => {
    const { records } = runWithFailover();
    const figures = reportFigures(records, check(records));

    expect(JSON.parse(JSON.stringify(figures))).toEqual(figures);
  });
});

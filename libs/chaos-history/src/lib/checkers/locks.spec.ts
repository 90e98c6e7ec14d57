import { ChaosHistoryBuilder, acquire, granted, release, released } from '../../testing';
import { checkFencingTokenOrder, checkLockMutualExclusion } from './locks';

describe('checkLockMutualExclusion', () => {
  it('accepts a blocking acquire invoked while another holds the lock and granted after its release', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', acquire('L', 'o1'), [0, 5], granted(1n, 1_000));
    history.ok('c2', acquire('L', 'o2'), [10, 305], granted(2n, 1_010));
    history.ok('c1', release('L', 'o1', 1n), [300, 302], released());
    expect(checkLockMutualExclusion(history.records)).toMatchObject({ anomalyCount: 0, grantsChecked: 2 });
  });

  it('accepts a grant after the earlier lease ran out without a release (a holder that paused)', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', acquire('L', 'o1'), [0, 5], granted(1n, 100));
    history.ok('c2', acquire('L', 'o2'), [10, 100], granted(2n, 1_010));
    history.ok('c1', release('L', 'o1', 1n), [2_000, 2_001], { kind: 'lock-release' });
    // A grant whose validity was spent before its client heard of it is never held.
    history.ok('c3', acquire('L', 'o3'), [20, 1_500], granted(3n, 1_020));
    expect(checkLockMutualExclusion(history.records).anomalyCount).toBe(0);
  });

  it('counts from the ok, not the invocation, and ends at the release invocation, whatever its outcome', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', acquire('L', 'o1'), [0, 50], granted(1n, 1_000));
    history.unknown('c1', release('L', 'o1', 1n), [60, 70]);
    history.ok('c2', acquire('L', 'o2'), [55, 60], granted(2n, 1_000));
    expect(checkLockMutualExclusion(history.records).anomalyCount).toBe(0);
  });

  it('reports every pair of overlapping grants of a lock, and none across locks', () => {
    const history = new ChaosHistoryBuilder();
    const first = history.ok('c1', acquire('L', 'o1'), [0, 5], granted(1n, 1_000));
    const second = history.ok('c2', acquire('L', 'o2'), [10, 20], granted(2n, 1_000));
    const third = history.ok('c3', acquire('L', 'o3'), [10, 30], granted(3n, 1_000));
    history.ok('c4', acquire('M', 'o4'), [10, 30], granted(1n, 1_000));
    const result = checkLockMutualExclusion(history.records);
    expect(result.anomalies.map((anomaly) => anomaly.opIds)).toEqual([
      [first, second],
      [first, third],
      [second, third],
    ]);
    expect(result.anomalies[0]?.description).toBe(
      'lock "L": lock-acquire #1 by c1 (owner "o1", token 1) held it from 5 ms until 1000 ms, and lock-acquire #2 by c2 (owner "o2", token 2) was granted it at 20 ms',
    );
    expect(checkLockMutualExclusion(history.records, { anomaliesMax: 1 })).toMatchObject({
      anomalyCount: 3,
      anomalies: [{ opIds: [first, second] }],
    });
  });
});

describe('checkFencingTokenOrder', () => {
  it('accepts concurrent acquires in any token order, and tokens that grow in real time', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', acquire('L', 'o1'), [0, 50], granted(2n, 40));
    history.ok('c2', acquire('L', 'o2'), [10, 60], granted(1n, 30));
    history.ok('c3', acquire('L', 'o3'), [70, 80], granted(5n, 1_000));
    history.ok('c3', acquire('M', 'o3'), [90, 95], granted(1n, 1_000));
    history.unknown('c4', acquire('L', 'o4'), [100, null]);
    expect(checkFencingTokenOrder(history.records)).toMatchObject({ anomalyCount: 0, grantsChecked: 4 });
  });

  it('reports a grant invoked after another returned that got a lower token, naming the highest earlier one', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', acquire('L', 'o1'), [0, 5], granted(3n, 10));
    const highest = history.ok('c2', acquire('L', 'o2'), [10, 15], granted(7n, 20));
    const lower = history.ok('c3', acquire('L', 'o3'), [30, 35], granted(6n, 1_000));
    const result = checkFencingTokenOrder(history.records);
    expect(result.anomalies).toMatchObject([
      { kind: 'later-grant-lower-token', lockName: 'L', opIds: [highest, lower] },
    ]);
    expect(result.anomalies[0]?.records).toHaveLength(4);
  });

  it('reports two grants of one token, concurrent or not, once each', () => {
    const history = new ChaosHistoryBuilder();
    const first = history.ok('c1', acquire('L', 'o1'), [0, 5], granted(4n, 10));
    const again = history.ok('c2', acquire('L', 'o2'), [20, 25], granted(4n, 1_000));
    expect(checkFencingTokenOrder(history.records).anomalies).toMatchObject([
      { kind: 'duplicate-token', opIds: [first, again] },
    ]);
  });
});

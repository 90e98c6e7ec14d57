import { ChaosHistoryBuilder, casOk, cas, del, deleteOk, get, getOk, put, putOk, replica } from '../../testing';
import { checkAsyncWriteLoss, checkLostSyncWrites } from './lost-writes';

/** Final reads of the three members of group-a, all holding `values`. */
function healed(
  history: ChaosHistoryBuilder,
  values: Record<string, string | null>,
  atMs = 1_000,
): ChaosHistoryBuilder {
  for (const member of ['replica-a1', 'replica-a2', 'replica-a3'])
    history.finalRead('group-a', member, atMs, 'd', values);
  return history;
}

const lostOpIds = (history: ChaosHistoryBuilder) =>
  checkLostSyncWrites(history.records).anomalies.map((anomaly) => anomaly.opId);

describe('checkLostSyncWrites', () => {
  it('accepts a final value written by a write that overlapped the acknowledged one', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 100], putOk());
    history.ok('c2', put('k', 'b'), [50, 60], putOk());
    expect(lostOpIds(healed(history, { k: 'a' }))).toEqual([]);
    const other = new ChaosHistoryBuilder();
    other.ok('c1', put('k', 'a'), [0, 100], putOk());
    other.ok('c2', put('k', 'b'), [50, 60], putOk());
    expect(lostOpIds(healed(other, { k: 'b' }))).toEqual([]);
  });

  it('accepts a final value written by an unknown write, however early it was invoked', () => {
    const history = new ChaosHistoryBuilder();
    history.unknown('c1', put('k', 'late'), [0, 5]);
    history.ok('c2', put('k', 'b'), [20, 30], putOk());
    expect(lostOpIds(healed(history, { k: 'late' }))).toEqual([]);
  });

  it('reports a write overwritten by one that failed, or by none at all', () => {
    const history = new ChaosHistoryBuilder();
    const acknowledged = history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.fail('c2', put('k', 'refused'), [20, 30]);
    const result = checkLostSyncWrites(healed(history, { k: 'refused' }).records);
    expect(result.anomalies.map((anomaly) => anomaly.opId)).toEqual([acknowledged]);
    expect(result.anomalies[0]?.description).toContain(
      'replica-a1 holds "refused" (which no operation invoked before the read wrote)',
    );
    expect(result.anomalies[0]?.records.map((record) => record.type)).toEqual(['invoke', 'ok', 'final-read']);
  });

  it('reports a lost delete: the value it removed came back', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    const deleted = history.ok('c1', del('k'), [20, 30], deleteOk());
    expect(lostOpIds(healed(history, { k: 'a' }))).toEqual([deleted]);
  });

  it('counts only writes that took effect: not a cas that did not swap', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.ok('c1', cas('k', 'zzz', 'b'), [20, 30], casOk(false));
    const result = checkLostSyncWrites(healed(history, { k: 'a' }).records);
    expect(result).toMatchObject({ anomalyCount: 0, syncWritesChecked: 1 });
  });

  it('follows each key of a transaction, by the branch its result names', () => {
    /** A txn whose compare failed, so it wrote its failure branch (y) and not its success branch (x). */
    function failedCompare(): { history: ChaosHistoryBuilder; txn: number } {
      const history = new ChaosHistoryBuilder();
      history.ok('c1', put('x', 'x0'), [0, 10], putOk());
      const txn = history.ok(
        'c1',
        {
          kind: 'txn',
          compares: [{ key: 'x', target: 'value', operator: 'equal', value: 'nope' }],
          success: [{ type: 'put', key: 'x', value: 'x1' }],
          failure: [{ type: 'put', key: 'y', value: 'y1' }],
          durability: 'sync',
        },
        [20, 30],
        { kind: 'txn', succeeded: false, group: 'group-a' },
      );
      return { history, txn };
    }
    expect(lostOpIds(healed(failedCompare().history, { x: 'x0', y: 'y1' }))).toEqual([]);
    const { history, txn } = failedCompare();
    const result = checkLostSyncWrites(healed(history, { x: 'x0', y: null }).records);
    expect(result.anomalies.map(({ opId, key }) => ({ opId, key }))).toEqual([{ opId: txn, key: 'y' }]);
  });

  it('names keys that no final read covered instead of calling their writes lost or safe', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.ok('c1', put('unread', 'a'), [0, 10], putOk());
    history.ok('c1', get('k'), [20, 30], getOk('a'));
    expect(checkLostSyncWrites(healed(history, { k: 'a' }).records)).toMatchObject({
      anomalyCount: 0,
      syncWritesChecked: 2,
      keysWithoutFinalRead: ['unread'],
    });
  });

  it('reports the replicas that lost it, when only some did', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.ok('c1', put('k', 'b'), [20, 30], putOk());
    history.finalRead('group-a', 'replica-a1', 100, 'd1', { k: 'b' });
    history.finalRead('group-a', 'replica-a2', 100, 'd2', { k: 'a' });
    history.finalReadFailed('group-a', 'replica-a3', 100);
    expect(checkLostSyncWrites(history.records).anomalies).toMatchObject([{ opId: 2, members: ['replica-a2'] }]);
  });
});

describe('checkAsyncWriteLoss', () => {
  const window = { beforeFaultMs: 200, afterFaultMs: 700 };
  const asyncPut = (key: string, value: string) => put(key, value, { durability: 'async' });

  function lossAround(fault: { primary: boolean; atMs: number } | null) {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', asyncPut('k', 'a'), [0, 10], putOk());
    history.ok('c1', asyncPut('k', 'b'), [900, 1_000], putOk());
    history.ok('c1', asyncPut('kept', 'c'), [900, 1_000], putOk());
    if (fault) history.fault('kill', [replica('replica-a1', 'group-a', fault.primary)], [fault.atMs, fault.atMs + 500]);
    return checkAsyncWriteLoss(healed(history, { k: 'a', kept: 'c' }, 5_000).records, { window });
  }

  it('counts async writes lost within the window of a fault on their primary', () => {
    expect(lossAround({ primary: true, atMs: 1_150 })).toMatchObject({
      anomalyCount: 0,
      asyncWritesChecked: 3,
      asyncWritesLost: 1,
      asyncWritesLostWithinWindow: 1,
    });
    // Acknowledged after the fault began, within afterFaultMs: an acknowledgement already on its way.
    expect(lossAround({ primary: true, atMs: 400 })).toMatchObject({ anomalyCount: 0, asyncWritesLostWithinWindow: 1 });
  });

  it('reports one lost outside every window, or when no fault hit its primary', () => {
    for (const fault of [
      null,
      { primary: true, atMs: 1_201 },
      { primary: true, atMs: 299 },
      { primary: false, atMs: 1_100 },
    ]) {
      const result = lossAround(fault);
      expect(result).toMatchObject({ anomalyCount: 1, asyncWritesLost: 1, asyncWritesLostWithinWindow: 0 });
      expect(result.anomalies[0]).toMatchObject({ kind: 'async-write-lost-outside-window', opId: 2, key: 'k' });
    }
    expect(lossAround(null).anomalies[0]?.description).toContain(
      'no fault on the primary of group-a began between 700 ms before and 200 ms after its acknowledgement',
    );
  });

  it('leaves sync writes to checkLostSyncWrites, and refuses a window that is not a duration', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    expect(checkAsyncWriteLoss(healed(history, { k: null }).records, { window })).toMatchObject({
      anomalyCount: 0,
      asyncWritesChecked: 0,
    });
    expect(() => checkAsyncWriteLoss([], { window: { beforeFaultMs: -1, afterFaultMs: 0 } })).toThrow(
      'window.beforeFaultMs',
    );
  });
});

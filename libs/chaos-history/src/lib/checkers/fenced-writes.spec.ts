import { ChaosHistoryBuilder, cas, casOk, del, deleteOk, put, putOk } from '../../testing';
import { checkStaleTokenWrites } from './fenced-writes';

const fence = (token: bigint) => ({ fence: { lockName: 'L', token } });

describe('checkStaleTokenWrites', () => {
  it('accepts equal tokens, a refused stale write, stale writes concurrent with the newer one, and other groups', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a', fence(1n)), [0, 10], putOk());
    history.ok('c1', del('k', fence(1n)), [11, 12], deleteOk());
    history.ok('c2', put('k', 'b', fence(2n)), [20, 30], putOk());
    history.ok('c1', put('k', 'c', fence(1n)), [25, 35], putOk());
    history.fail('c1', put('k', 'd', fence(1n)), [40, 45], 'failed-precondition: fence.token: token 1 is below 2');
    history.ok('c1', put('elsewhere', 'e', fence(1n)), [50, 55], putOk('group-b'));
    history.ok('c1', put('k', 'unfenced'), [60, 65], putOk());
    expect(checkStaleTokenWrites(history.records)).toEqual({
      anomalies: [],
      anomalyCount: 0,
      fencedWritesAccepted: 5,
      fencedWritesRefused: 1,
    });
  });

  it('counts a cas whose compare failed as raising the fence, as the replicas do', () => {
    const history = new ChaosHistoryBuilder();
    const raised = history.ok('c2', cas('k', 'nope', 'b', fence(5n)), [0, 10], casOk(false));
    const stale = history.ok('c1', put('k2', 'a', fence(4n)), [20, 30], putOk());
    const [anomaly] = checkStaleTokenWrites(history.records).anomalies;
    expect(anomaly).toMatchObject({ kind: 'stale-token-accepted', group: 'group-a', opIds: [raised, stale] });
    expect(anomaly?.description).toBe(
      'lock "L" on group-a: cas #1 by c2 with token 5 was acknowledged at 10 ms, then put #2 by c1, invoked at 20 ms with the lower token 4, was accepted too',
    );
  });
});

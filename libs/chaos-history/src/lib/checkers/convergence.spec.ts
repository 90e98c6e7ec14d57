import { ChaosHistoryBuilder } from '../../testing';
import { checkConvergence } from './convergence';

describe('checkConvergence', () => {
  it('accepts groups whose members agree, each group on its own', () => {
    const history = new ChaosHistoryBuilder();
    for (const member of ['a1', 'a2', 'a3']) history.finalRead('group-a', member, 10, 'da', { k: 'v', gone: null });
    for (const member of ['b1', 'b2']) history.finalRead('group-b', member, 10, 'db', { other: 'w' });
    expect(checkConvergence(history.records)).toEqual({
      anomalies: [],
      anomalyCount: 0,
      groupsChecked: 2,
      membersRead: 5,
    });
  });

  it('names the member whose digest differs from the one most report, with the two reads that show it', () => {
    const history = new ChaosHistoryBuilder();
    history.finalRead('group-a', 'a3', 10, 'stale', { k: 'v' });
    history.finalRead('group-a', 'a1', 11, 'fresh', { k: 'v' });
    history.finalRead('group-a', 'a2', 12, 'fresh', { k: 'v' });
    const records = history.records;
    const result = checkConvergence(records);
    expect(result.anomalies).toEqual([
      {
        kind: 'digest-mismatch',
        description: 'group-a: a1 has digest fresh, but a3 has stale',
        records: [records[0], records[1]],
        group: 'group-a',
        members: ['a3'],
        keys: [],
      },
    ]);
  });

  it('reports values that differ, also a key one member did not list, even under equal digests', () => {
    const history = new ChaosHistoryBuilder();
    history.finalRead('group-a', 'a1', 10, 'd', { k: 'v', j: null });
    history.finalRead('group-a', 'a2', 10, 'd', { k: 'v', j: null });
    history.finalRead('group-a', 'a3', 10, 'd', { k: 'old' });
    const [anomaly] = checkConvergence(history.records).anomalies;
    expect(anomaly).toMatchObject({ kind: 'values-differ', members: ['a3'], keys: ['j', 'k'] });
    expect(anomaly?.description).toBe(
      'group-a: 2 keys differ between replicas, e.g. "k": a1 holds "v", a3 holds "old"',
    );
    expect(anomaly?.records.map((record) => 'member' in record && record.member)).toEqual(['a1', 'a3']);
  });

  it('reports a member that did not answer after healing', () => {
    const history = new ChaosHistoryBuilder();
    history.finalRead('group-a', 'a1', 10, 'd', {});
    history.finalReadFailed('group-a', 'a2', 10, 'unavailable: connection refused');
    expect(checkConvergence(history.records).anomalies).toMatchObject([
      {
        kind: 'unreachable',
        members: ['a2'],
        description: 'group-a: a2 did not answer its final read after healing (unavailable: connection refused)',
      },
    ]);
  });
});

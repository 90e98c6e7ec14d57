import {
  ChaosHistoryBuilder,
  cas,
  casOk,
  committedAt,
  del,
  deleteOk,
  get,
  getOk,
  put,
  putOk,
  replica,
} from '../../testing';
import { indexChaosHistory, recordsOf } from '../history-index';
import type { ChaosRecord } from '../records';
import { checkChaosLinearizability } from './linearizability';
import { checkLostSyncWrites } from './lost-writes';
import { checkWritePositions } from './write-positions';

const asyncPut = (key: string, value: string) => put(key, value, { durability: 'async' });

/** What each anomaly names: the rule, the write lost and the write that shows it. */
const findings = (records: readonly ChaosRecord[]) =>
  checkWritePositions(records).anomalies.map(({ rule, opId, evidenceOpId }) => ({ rule, opId, evidenceOpId }));

describe('checkWritePositions', () => {
  it('accepts a failover whose new epoch continues the log above every acknowledged write', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('a', 'a1'), [0, 10], committedAt(1n, 1n, putOk()));
    // Concurrent writes may land in either order: this one took the entry below one invoked before it.
    history.ok('c2', put('b', 'b1'), [5, 40], committedAt(1n, 3n, putOk()));
    history.ok('c3', del('c'), [20, 30], committedAt(1n, 2n, deleteOk()));
    // Async and not replicated when the primary died: the next epoch takes its entry, as async allows.
    history.ok('c3', asyncPut('d', 'd1'), [41, 45], committedAt(1n, 4n, putOk()));
    history.fault('kill', [replica('replica-a1', 'group-a', true)], [50, 500]);
    history.ok('c1', put('a', 'a2'), [100, 110], committedAt(2n, 4n, putOk()));
    // A compare that failed is an entry too.
    history.ok('c2', cas('b', 'nope', 'b2'), [120, 130], committedAt(2n, 5n, casOk(false)));
    // Another group keeps its own log, with its own sequences and epochs.
    history.ok('c3', put('x', 'x1'), [120, 130], committedAt(7n, 1n, putOk('group-b')));
    expect(checkWritePositions(history.records)).toEqual({
      anomalies: [],
      anomalyCount: 0,
      writesChecked: 7,
      writesWithoutPosition: 0,
    });
  });

  it('catches acknowledged writes a failover lost and the next epoch overwrote, which the final reads cannot see', () => {
    const history = new ChaosHistoryBuilder();
    const lost = [
      history.ok('c1', put('a', 'a1'), [0, 10], committedAt(1n, 10n, putOk())),
      history.ok('c1', put('b', 'b1'), [10, 20], committedAt(1n, 11n, putOk())),
      history.ok('c1', put('c', 'c1'), [20, 30], committedAt(1n, 12n, putOk())),
    ];
    // The primary acknowledged them before its backups had them, then died; a backup took over at epoch 2.
    history.fault('kill', [replica('replica-a1', 'group-a', true)], [40, 500]);
    const overwriting = [
      history.ok('c2', put('a', 'a2'), [100, 110], committedAt(2n, 10n, putOk())),
      history.ok('c2', put('b', 'b2'), [110, 120], committedAt(2n, 11n, putOk())),
      history.ok('c2', put('c', 'c2'), [120, 130], committedAt(2n, 12n, putOk())),
    ];
    history.ok('c3', get('a'), [140, 150], getOk('a2'));
    for (const member of ['replica-a2', 'replica-a3']) {
      history.finalRead('group-a', member, 1_000, 'd', { a: 'a2', b: 'b2', c: 'c2' });
    }
    const records = history.records;

    // Why this checker exists: every final value and read is explained by a write after the lost ones.
    expect(checkLostSyncWrites(records)).toMatchObject({ anomalyCount: 0, syncWritesChecked: 6 });
    expect(checkChaosLinearizability(records)).toMatchObject({ anomalyCount: 0, keysDecided: 3 });

    const result = checkWritePositions(records);
    expect(result).toMatchObject({ anomalyCount: 3, writesChecked: 6 });
    expect(findings(records)).toEqual(
      lost.map((opId, index) => ({ rule: 'later-epoch', opId, evidenceOpId: overwriting[index] })),
    );
    const [first] = result.anomalies;
    expect(first).toMatchObject({ kind: 'sync-write-lost-from-log', group: 'group-a' });
    expect(first?.description).toBe(
      'group-a: sync put #1 by c1 on "a", invoked at 0 ms and acknowledged at 10 ms at epoch 1 sequence 10, ' +
        'is lost from the log: put #4 by c2 on "a", invoked at 100 ms and acknowledged at 110 ms at epoch 2 ' +
        'sequence 10, took a position at or below it in a later epoch',
    );
    const operations = indexChaosHistory(records).operations;
    const recordsOfOp = (opId: number | undefined) =>
      recordsOf(operations.find((operation) => operation.opId === opId) as (typeof operations)[number]);
    expect(first?.records).toEqual([...recordsOfOp(lost[0]), ...recordsOfOp(overwriting[0])]);
    expect(checkWritePositions(records, { anomaliesMax: 1 })).toMatchObject({ anomalyCount: 3 });
    expect(checkWritePositions(records, { anomaliesMax: 1 }).anomalies).toHaveLength(1);
  });

  it('catches a write invoked after another was acknowledged that landed below it in the same epoch', () => {
    const history = new ChaosHistoryBuilder();
    const lost = history.ok('c1', put('a', 'a1'), [0, 10], committedAt(1n, 5n, putOk()));
    // Invoked before the lost write was acknowledged: concurrent, it may land below.
    history.ok('c2', put('b', 'b1'), [8, 30], committedAt(1n, 4n, putOk()));
    const later = history.ok('c3', put('c', 'c1'), [11, 20], committedAt(1n, 3n, putOk()));
    expect(findings(history.records)).toEqual([{ rule: 'invoked-after', opId: lost, evidenceOpId: later }]);
    expect(checkWritePositions(history.records).anomalies[0]?.description).toContain(
      'put #3 by c3 on "c", invoked at 11 ms and acknowledged at 20 ms at epoch 1 sequence 3, ' +
        'was invoked after it was acknowledged, yet took a position below it',
    );
  });

  it('takes no write of an earlier epoch as evidence: a deposed primary acknowledged it, not the log lost the other', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('a', 'a1'), [0, 10], committedAt(2n, 20n, putOk()));
    history.ok('c2', put('b', 'b1'), [20, 30], committedAt(1n, 15n, putOk()));
    expect(checkWritePositions(history.records)).toMatchObject({ anomalyCount: 0, writesChecked: 2 });
  });

  it('catches two writes given the same entry, each with the other as evidence', () => {
    const history = new ChaosHistoryBuilder();
    const first = history.ok('c1', put('a', 'a1'), [0, 10], committedAt(1n, 7n, putOk()));
    const second = history.ok('c2', del('b'), [5, 15], committedAt(1n, 7n, deleteOk()));
    // Async: the same entry, but not judged.
    history.ok('c3', asyncPut('c', 'c1'), [5, 15], committedAt(1n, 7n, putOk()));
    expect(findings(history.records)).toEqual([
      { rule: 'same-sequence', opId: first, evidenceOpId: second },
      { rule: 'same-sequence', opId: second, evidenceOpId: first },
    ]);
  });

  it('judges sync writes only, but takes an async one as evidence', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', asyncPut('a', 'a1'), [0, 10], committedAt(1n, 10n, putOk()));
    const lost = history.ok('c1', put('b', 'b1'), [10, 20], committedAt(1n, 11n, putOk()));
    const evidence = history.ok('c2', asyncPut('a', 'a2'), [100, 110], committedAt(2n, 10n, putOk()));
    expect(findings(history.records)).toEqual([{ rule: 'later-epoch', opId: lost, evidenceOpId: evidence }]);
  });

  it('leaves out writes without a position and writes that were not acknowledged ok', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('a', 'a1'), [0, 10], committedAt(1n, 10n, putOk()));
    history.ok('c2', put('a', 'a2'), [100, 110], putOk());
    history.ok('c2', del('a'), [120, 130], deleteOk());
    history.fail('c2', put('a', 'a3'), [140, 150]);
    history.unknown('c2', put('a', 'a4'), [160, null]);
    history.ok('c3', get('a'), [170, 180], getOk(null));
    expect(checkWritePositions(history.records)).toEqual({
      anomalies: [],
      anomalyCount: 0,
      writesChecked: 1,
      writesWithoutPosition: 2,
    });
  });
});

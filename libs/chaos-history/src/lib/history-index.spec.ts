import { InvalidArgumentError } from '@bulwark/errors';
import { ChaosHistoryBuilder, acquire, get, getOk, granted, put, putOk } from '../testing';
import { indexChaosHistory, recordsOf, type ChaosOperation } from './history-index';
import type { ChaosRecord } from './records';

describe('indexChaosHistory', () => {
  it('pairs invocations with completions; one never completed is unknown, like one reported unknown', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.fail('c2', put('k', 'b'), [1, 5]);
    history.unknown('c3', put('k', 'c'), [2, 50]);
    history.unknown('c4', get('k'), [3, null]);
    history.ok('c5', acquire('L', 'o'), [4, 6], granted(3n, 900));
    history.fault('kill', [], [7, null]);
    const records = history.records;

    const indexed = indexChaosHistory(records);

    expect(
      indexed.operations.map(({ opId, kind, outcome, invokedMs, completedMs }) => ({
        opId,
        kind,
        outcome,
        invokedMs,
        completedMs,
      })),
    ).toEqual([
      { opId: 1, kind: 'put', outcome: 'ok', invokedMs: 0, completedMs: 10 },
      { opId: 2, kind: 'put', outcome: 'fail', invokedMs: 1, completedMs: 5 },
      // The client gave up at 50, but the write may still land: no completion time.
      { opId: 3, kind: 'put', outcome: 'unknown', invokedMs: 2, completedMs: null },
      { opId: 4, kind: 'get', outcome: 'unknown', invokedMs: 3, completedMs: null },
      { opId: 5, kind: 'lock-acquire', outcome: 'ok', invokedMs: 4, completedMs: 6 },
    ]);
    expect(indexed.operations[0]?.result).toEqual(putOk());
    expect(indexed.operations[1]?.result).toBeNull();
    expect(recordsOf(indexed.operations[3] as ChaosOperation)).toHaveLength(1);
    expect(indexed.faults).toEqual([
      { faultId: 1, kind: 'kill', start: expect.objectContaining({ phase: 'start' }), end: null },
    ]);
  });

  it('gives sub-histories in history order, each record once', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    history.ok('c2', get('k'), [5, 20], getOk('a'));
    const records = history.records;
    const indexed = indexChaosHistory(records);
    const [first, second] = indexed.operations;
    const chosen = [
      ...recordsOf(second as ChaosOperation),
      ...recordsOf(first as ChaosOperation),
      records[0] as ChaosRecord,
    ];
    expect(indexed.subHistory(chosen)).toEqual(records);
    expect(() => indexed.subHistory([{ ...(records[0] as ChaosRecord) }])).toThrow('not in this history');
  });

  it('names records by index when they did not come from a file', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 10], putOk());
    const [invoke, ok] = history.records as [ChaosRecord, ChaosRecord];
    expect(() => indexChaosHistory([ok, invoke])).toThrow(InvalidArgumentError);
    expect(() => indexChaosHistory([ok, invoke])).toThrow('records[0] field "opId": no invocation of 1 before it');
  });
});

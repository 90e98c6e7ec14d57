import type { HistoryOperation } from '@bulwark/history';
import { ChaosHistoryBuilder, cas, casOk, get, getOk, put, putOk } from '../../testing';
import { checkChaosLinearizability } from './linearizability';
import { shrinkFailingHistory } from './shrink';

/** A register operation on key x, as libs/history sees it. */
function op(
  fields: Partial<HistoryOperation> & Pick<HistoryOperation, 'op'>,
  [invokedMs, completedMs]: [number, number | null],
): HistoryOperation {
  return {
    client: 'c',
    key: 'x',
    value: null,
    expect: null,
    result: null,
    invokedMs,
    completedMs,
    outcome: completedMs === null ? 'unknown' : 'ok',
    ...fields,
  };
}

describe('checkChaosLinearizability', () => {
  it('checks every key, reporting each that fails with its shrunk sub-history', () => {
    const history = new ChaosHistoryBuilder();
    // Key a: a lost write seen by a later STRONG read. Key b: fine. Key c: a cas that swapped twice.
    history.ok('c1', put('a', 'a1'), [0, 10], putOk());
    history.ok('c2', get('a'), [20, 30], getOk(null));
    history.ok('c1', put('b', 'b1'), [0, 10], putOk());
    history.ok('c2', get('b'), [20, 30], getOk('b1'));
    history.ok('c1', put('c', '0'), [0, 5], putOk());
    history.ok('c1', cas('c', '0', '1'), [10, 20], casOk(true));
    history.ok('c2', cas('c', '0', '1'), [12, 22], casOk(true));

    const result = checkChaosLinearizability(history.records);

    expect(result).toMatchObject({ keysDecided: 3, anomalyCount: 2, undecidedKeys: [], excludedKeys: [] });
    expect(result.anomalies.map(({ key, opIds, minimal }) => ({ key, opIds, minimal }))).toEqual([
      { key: 'a', opIds: [1, 2], minimal: true },
      { key: 'c', opIds: [5, 6, 7], minimal: true },
    ]);
    expect(result.anomalies[0]?.description).toBe(
      'key "a" has no linearization: 2 operations (#1, #2) show it, shrunk from a failing prefix of 2',
    );
    expect(
      result.anomalies[0]?.records.map((record) => `${record.type} #${'opId' in record ? record.opId : ''}`),
    ).toEqual(['invoke #1', 'ok #1', 'invoke #2', 'ok #2']);
  });

  it('accepts concurrent operations with unknown and failed outcomes, and ignores reads that may be stale', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a'), [0, 100], putOk());
    history.ok('c2', put('k', 'b'), [10, 20], putOk());
    history.ok('c3', get('k'), [25, 30], getOk('b'));
    history.ok('c3', get('k'), [101, 110], getOk('a'));
    history.unknown('c2', put('k', 'c'), [120, 130]);
    history.fail('c1', put('k', 'd'), [121, 125]);
    history.ok('c1', get('k'), [140, 150], getOk('a'));
    history.ok('c3', get('k'), [200, 210], getOk('c'));
    history.ok('c3', get('k', 'eventual'), [220, 230], getOk('a', 'replica-a3'));

    expect(checkChaosLinearizability(history.records)).toMatchObject({ anomalyCount: 0, keysDecided: 1 });
  });

  it('reports a key whose search runs out of budget as undecided, not as passed or failed', () => {
    const history = new ChaosHistoryBuilder();
    for (let index = 0; index < 6; index++) history.ok(`c${index}`, put('k', `v${index}`), [0, 100], putOk());
    history.ok('c9', get('k'), [110, 120], getOk('v3'));
    expect(checkChaosLinearizability(history.records, { budget: { stepsMax: 3 } })).toMatchObject({
      keysDecided: 0,
      anomalyCount: 0,
      undecidedKeys: [{ key: 'k', reason: 'steps' }],
    });
  });
});

describe('shrinkFailingHistory', () => {
  it('keeps the writers of the values that remaining reads saw, so a stale read stays a stale read', () => {
    const stale = [
      op({ op: 'put', value: 'a' }, [0, 10]),
      op({ op: 'get', result: null }, [2, 6]),
      op({ op: 'put', value: 'b' }, [20, 30]),
      op({ op: 'get', result: 'b' }, [32, 35]),
      op({ op: 'get', result: 'a' }, [40, 50]),
    ];
    const shrunk = shrinkFailingHistory(stale);
    expect(shrunk.operations).toEqual([stale[0], stale[2], stale[4]]);
    expect(shrunk.minimal).toBe(true);
  });

  it('shrinks a long history to the few operations that matter', () => {
    const noise = Array.from({ length: 60 }, (_, index) =>
      index % 2 === 0
        ? op({ op: 'put', value: `n${index}` }, [index * 10, index * 10 + 5])
        : op({ op: 'get', result: `n${index - 1}` }, [index * 10, index * 10 + 5]),
    );
    const lost = [op({ op: 'put', value: 'last' }, [700, 710]), op({ op: 'get', result: 'n58' }, [720, 730])];
    const shrunk = shrinkFailingHistory([...noise, ...lost]);
    expect(shrunk.operations).toEqual([noise[58], ...lost]);
    expect(shrunk.minimal).toBe(true);
    expect(shrunk.checks).toBeLessThan(100);
  });

  it('stops at its bound, saying the result may not be minimal', () => {
    const history = [
      op({ op: 'put', value: 'a' }, [0, 10]),
      op({ op: 'put', value: 'b' }, [20, 30]),
      op({ op: 'get', result: 'a' }, [40, 50]),
      op({ op: 'get', result: 'a' }, [60, 70]),
    ];
    expect(shrinkFailingHistory(history, { checksMax: 1 })).toMatchObject({ minimal: false, checks: 1 });
    expect(shrinkFailingHistory(history, { checksMax: 0 })).toEqual({ operations: history, minimal: false, checks: 0 });
    expect(() => shrinkFailingHistory(history, { checksMax: -1 })).toThrow('shrinkChecksMax');
  });
});

import { get, put } from '../../testing/operations';
import type { HistoryOperation } from '../operation';
import { DecimalTime, type HistoryTime } from '../time';
import { checkLinearizability } from './check-linearizability';
import { comparableHistory } from './comparable-times';

const at = (operation: HistoryOperation, invokedMs: HistoryTime, completedMs: HistoryTime | null) =>
  ({ ...operation, invokedMs, completedMs }) as HistoryOperation<HistoryTime>;

/** 2^60: doubles there are 256 apart, so X + 1 and X + 2 are the same double. */
const X = 2n ** 60n;

describe('comparableHistory', () => {
  it('uses a history of numbers as it is: numbers already compare exactly and cheaply', () => {
    const history = [put('a', [0, 1.5]), get('a', [2, null])];
    const comparable = comparableHistory(history);
    expect(comparable.operations).toBe(history);
    expect(comparable.recordedTime(1.5)).toBe(1.5);
  });

  it('ranks every other history by exact time, equal values sharing a rank whatever their kinds', () => {
    const history = [
      at(put('a', [0, 0]), X + 2n, new DecimalTime((X + 3n) * 10n, 1)),
      at(get('a', [0, 0]), 5, X + 1n),
      at(put('b', [0, null]), new DecimalTime(55n, 1), null),
      at(get('b', [0, 0]), X + 3n, new DecimalTime((X + 3n) * 10n + 1n, 1)),
    ];
    const comparable = comparableHistory(history);
    expect(comparable.operations.map(({ invokedMs, completedMs }) => [invokedMs, completedMs])).toEqual([
      [3, 4],
      [0, 2],
      [1, null],
      [4, 5],
    ]);
    comparable.operations.forEach((operation, index) =>
      expect(comparable.recordedOperation(operation)).toBe(history[index]),
    );
    expect([0, 1, 2, 5].map(comparable.recordedTime)).toEqual([
      5,
      new DecimalTime(55n, 1),
      X + 1n,
      new DecimalTime((X + 3n) * 10n + 1n, 1),
    ]);
    expect(() => comparable.recordedTime(Infinity)).toThrow('no recorded time has rank Infinity');
    expect(() => comparable.recordedOperation(put('a', [0, 1]))).toThrow('not an operation of this comparable history');
  });
});

describe('checkLinearizability on exact times', () => {
  it('rejects a read that missed a write completed 1 ns before it began, beyond 2^53 where doubles cannot tell', () => {
    expect(Number(X + 1n)).toBe(Number(X + 2n));
    const history = [at(put('a', [0, 0]), X, X + 1n), at(get(null, [0, 0]), X + 2n, X + 3n)];
    expect(checkLinearizability(history)).toEqual({
      verdict: 'not-linearizable',
      key: 'x',
      failingPrefix: history,
      failingAtMs: X + 3n,
      steps: expect.any(Number),
    });
    // At equal times the read counts as concurrent with the write and may go first.
    expect(
      checkLinearizability([at(put('a', [0, 0]), X, X + 1n), at(get(null, [0, 0]), X + 1n, X + 3n)]),
    ).toMatchObject({ verdict: 'linearizable' });
  });

  it('rejects the same stale read in decimal seconds whose order is in the 9th decimal place', () => {
    const seconds = (nanoseconds: bigint) => new DecimalTime(1733450000n * 10n ** 9n + nanoseconds, 9);
    const history = [at(put('a', [0, 0]), seconds(0n), seconds(1n)), at(get(null, [0, 0]), seconds(2n), seconds(3n))];
    expect(checkLinearizability(history)).toMatchObject({ verdict: 'not-linearizable', failingAtMs: seconds(3n) });
  });
});

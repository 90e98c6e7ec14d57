// Property tests of the checker on generated histories; each states its run
// count. A failure prints the shrunk counterexample and the seed to replay it.
import fc from 'fast-check';
import { historyWithIsolatedRead, linearizableHistory } from '../../testing/history-arbitraries';
import type { HistoryOperation } from '../operation';
import { compareTimes, DecimalTime, type HistoryTime } from '../time';
import { checkLinearizability } from './check-linearizability';
import { compileKeyHistory } from './register-model';
import { searchLinearization } from './linearization-search';
import { SearchBudget } from './search-budget';

/** Every value a read could be changed to: absent, any value in the history, and one nobody wrote. */
function candidateReads(history: readonly HistoryOperation[]): (string | null)[] {
  return [
    null,
    'never-written',
    ...new Set(history.flatMap((operation) => (operation.value === null ? [] : [operation.value]))),
  ];
}

/** A linearizable history with the result of one ok read (if any) changed to any candidate: often not linearizable. */
function historyWithChangedRead(length: number): fc.Arbitrary<HistoryOperation[]> {
  return linearizableHistory(length).chain((history) => {
    const reads = history.flatMap((operation, index) =>
      operation.op === 'get' && operation.outcome === 'ok' ? [index] : [],
    );
    if (reads.length === 0) return fc.constant(history);
    return fc
      .tuple(fc.constantFrom(...reads), fc.constantFrom(...candidateReads(history)))
      .map(([readIndex, read]) =>
        history.map((operation, index) => (index === readIndex ? { ...operation, result: read } : operation)),
      );
  });
}

/**
 * The same time t, each occurrence written as one of several kinds, from
 * `kinds` (cycled): as a number, a bigint or a DecimalTime; shifted by 2^60
 * (where doubles are 256 apart) when `shifted`, as a bigint or a DecimalTime.
 */
function rewriteTimes(history: readonly HistoryOperation[], kinds: readonly number[], shifted: boolean) {
  let next = 0;
  const rewrite = (ms: number): HistoryTime => {
    const value = BigInt(ms) + (shifted ? 2n ** 60n : 0n);
    const kind = (kinds[next++ % kinds.length] as number) % (shifted ? 2 : 3);
    return kind === 0 ? new DecimalTime(value * 1000n, 3) : kind === 1 ? value : ms;
  };
  return history.map((operation): HistoryOperation<HistoryTime> => ({
    ...operation,
    invokedMs: rewrite(operation.invokedMs),
    completedMs: operation.completedMs === null ? null : rewrite(operation.completedMs),
  }));
}

describe('checker properties', () => {
  it('accepts every history of a sequential register with widened intervals, unknown and failed outcomes (500 runs)', () => {
    fc.assert(
      fc.property(linearizableHistory(60), (history) => {
        expect(checkLinearizability(history).verdict).toBe('linearizable');
      }),
      { numRuns: 500 },
    );
  });

  it('rejects every change to the result of a read that overlaps nothing, pinned by a write that overlaps nothing (300 runs)', () => {
    const scenario = historyWithIsolatedRead(30).chain((isolated) =>
      fc.record({
        isolated: fc.constant(isolated),
        read: fc.constantFrom(...candidateReads(isolated.history)).filter((read) => read !== isolated.value),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ isolated, read }) => {
        const { history, readIndex } = isolated;
        expect(checkLinearizability(history).verdict).toBe('linearizable');
        const changed = history.map((operation, index) =>
          index === readIndex ? { ...operation, result: read } : operation,
        );
        const result = checkLinearizability(changed);
        expect(result).toMatchObject({ verdict: 'not-linearizable', key: 'a' });
        // The shortest failing prefix ends with the changed read.
        const prefix = result.verdict === 'not-linearizable' ? result.failingPrefix : [];
        expect(prefix[prefix.length - 1]).toEqual(changed[readIndex]);
      }),
      { numRuns: 300 },
    );
  });

  it('reports a failing prefix that is rejected on its own and linearizable one completion earlier (300 runs)', () => {
    const mutated = historyWithChangedRead(40);
    let rejected = 0;
    fc.assert(
      fc.property(mutated, (history) => {
        const result = checkLinearizability(history);
        if (result.verdict !== 'not-linearizable') return;
        rejected += 1;
        const { failingPrefix, failingAtMs } = result;
        expect(checkLinearizability(failingPrefix).verdict).toBe('not-linearizable');
        const budget = new SearchBudget();
        expect(searchLinearization(compileKeyHistory(failingPrefix, failingAtMs), budget).verdict).toBe(
          'not-linearizable',
        );
        const earlierMs = Math.max(
          -Infinity,
          ...failingPrefix.flatMap(({ completedMs }) =>
            completedMs !== null && completedMs < failingAtMs ? [completedMs] : [],
          ),
        );
        expect(searchLinearization(compileKeyHistory(failingPrefix, earlierMs), budget).verdict).toBe('linearizable');
      }),
      { numRuns: 300 },
    );
    // Most changed reads are caught; the property must not pass vacuously.
    expect(rejected).toBeGreaterThan(100);
  });

  it('gives the same verdict, failing prefix and failing time whatever kinds the times are written in (300 runs)', () => {
    const scenario = fc.record({
      history: historyWithChangedRead(40),
      kinds: fc.array(fc.nat(5), { minLength: 1, maxLength: 80 }),
      shifted: fc.boolean(),
    });
    let rejected = 0;
    fc.assert(
      fc.property(scenario, ({ history, kinds, shifted }) => {
        const rewritten = rewriteTimes(history, kinds, shifted);
        const originalOf = new Map(rewritten.map((operation, index) => [operation, history[index]]));
        const expected = checkLinearizability(history);
        const result = checkLinearizability(rewritten);
        expect(result.verdict).toBe(expected.verdict);
        if (result.verdict !== 'not-linearizable' || expected.verdict !== 'not-linearizable') return;
        rejected += 1;
        expect(result.failingPrefix.map((operation) => originalOf.get(operation))).toEqual(expected.failingPrefix);
        const shift = shifted ? 2n ** 60n : 0n;
        expect(compareTimes(result.failingAtMs, BigInt(expected.failingAtMs) + shift)).toBe(0);
      }),
      { numRuns: 300 },
    );
    expect(rejected).toBeGreaterThan(100);
  });
});

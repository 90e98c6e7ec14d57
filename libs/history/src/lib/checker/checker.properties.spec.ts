// Property tests of the checker on generated histories; each states its run
// count. A failure prints the shrunk counterexample and the seed to replay it.
import fc from 'fast-check';
import { historyWithIsolatedRead, linearizableHistory } from '../../testing/history-arbitraries';
import type { HistoryOperation } from '../operation';
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
    const mutated = linearizableHistory(40).chain((history) => {
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
});

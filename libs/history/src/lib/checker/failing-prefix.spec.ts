import { failed, get, put } from '../../testing/operations';
import type { HistoryOperation } from '../operation';
import { checkLinearizability } from './check-linearizability';
import { shortestFailingPrefix } from './failing-prefix';
import { SearchBudget } from './search-budget';

/** put vN then get vN, for N below `count`, 100 ms apart, without overlap. */
function legalRun(count: number): HistoryOperation[] {
  return Array.from({ length: count }, (_, n) => [
    put(`v${n}`, [100 * n, 100 * n + 10]),
    get(`v${n}`, [100 * n + 20, 100 * n + 30]),
  ]).flat();
}

describe('shortestFailingPrefix', () => {
  it('ends at the operation whose completion made the history non-linearizable', () => {
    const stale = get('v3', [2000, 2010]);
    const later = [put('z', [2100, 2110]), get('z', [2120, 2130])];
    const history = [...legalRun(20), stale, ...later];
    expect(shortestFailingPrefix(history, new SearchBudget())).toEqual({
      operations: [...legalRun(20), stale],
      failingAtMs: 2010,
    });
  });

  it('keeps operations still running at that point, with their real results, and leaves out what cannot matter', () => {
    const slowWrite = put('slow', [1990, 5000]);
    const stale = get('v3', [2000, 2010]);
    const history = [...legalRun(20), failed(put('nope', [1995, 1996])), get(null, [1998, null]), slowWrite, stale];
    expect(shortestFailingPrefix(history, new SearchBudget()).operations).toEqual([...legalRun(20), slowWrite, stale]);
  });

  it('is itself rejected when checked on its own, and the history known one completion earlier is not', () => {
    // A read that sees a write which a later read no longer sees, with a concurrent writer around.
    const history = [put('a', [0, 10]), put('b', [5, 40]), get('b', [20, 25]), get('a', [30, 35]), get('b', [50, 60])];
    const { operations: prefix, failingAtMs } = shortestFailingPrefix(history, new SearchBudget());
    expect(prefix).toEqual(history.slice(0, 4));
    expect(failingAtMs).toBe(35);
    expect(checkLinearizability(prefix).verdict).toBe('not-linearizable');
    expect(checkLinearizability(history.slice(0, 3)).verdict).toBe('linearizable');
  });

  it('returns the whole relevant history when the budget runs out before shrinking', () => {
    const history = [...legalRun(5), get('v1', [600, 610]), put('q', [700, 710])];
    const exhausted = new SearchBudget({ stepsMax: 1 });
    exhausted.spendStep();
    expect(shortestFailingPrefix(history, exhausted)).toEqual({ operations: history, failingAtMs: 710 });
  });
});

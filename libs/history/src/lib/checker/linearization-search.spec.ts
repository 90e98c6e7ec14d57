import { get, put } from '../../testing/operations';
import { compileKeyHistory } from './register-model';
import { searchLinearization } from './linearization-search';
import { SearchBudget } from './search-budget';

describe('searchLinearization', () => {
  it('finds nothing to do in an empty history', () => {
    const budget = new SearchBudget();
    expect(searchLinearization([], budget)).toEqual({ verdict: 'linearizable' });
    expect(budget.steps).toBe(0);
  });

  it('memoises (linearized set, state): n identical concurrent writes cost about 2^n configurations, not n!', () => {
    const writers = 12;
    const history = [
      ...Array.from({ length: writers }, () => put('same', [0, 100])),
      // Nothing wrote this, so every order of the writes has to be ruled out.
      get('other', [200, 210]),
    ];
    // Each configuration (a subset of writes, one state) is entered once and
    // scanned over at most all 2 * (writers + 1) events; 12! orders would be 479 million.
    const stepsMax = 2 ** writers * 2 * (writers + 1) * 2;
    const budget = new SearchBudget({ stepsMax });
    expect(searchLinearization(compileKeyHistory(history), budget)).toEqual({ verdict: 'not-linearizable' });
    expect(budget.steps).toBeLessThan(stepsMax);
  });

  it('stops as soon as only unknown operations are left: they may never take effect', () => {
    const history = [
      put('a', [0, 10]),
      get('a', [20, 30]),
      ...Array.from({ length: 50 }, (_, index) => put(`u${index}`, [40, null])),
    ];
    const budget = new SearchBudget();
    expect(searchLinearization(compileKeyHistory(history), budget)).toEqual({ verdict: 'linearizable' });
    // Two lifts, each followed by a restart, then the first unknown return: a handful of steps, not 50.
    expect(budget.steps).toBeLessThan(10 + 2 * 50);
  });
});

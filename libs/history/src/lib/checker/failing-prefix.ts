import { compareNumbers } from '../compare';
import type { HistoryOperation } from '../operation';
import { compileKeyHistory, isRelevant } from './register-model';
import { searchLinearization } from './linearization-search';
import type { SearchBudget } from './search-budget';

export interface FailingPrefix {
  /** Ordered by invocation. */
  readonly operations: readonly HistoryOperation[];
  /** The completion time T at which the key's history, as known then, stopped being linearizable. */
  readonly failingAtMs: number;
}

/**
 * The shortest prefix of a non-linearizable key history that is already not
 * linearizable: the operations invoked up to the earliest completion time T
 * at which the history, as known at T, admits no linearization. Known at T
 * means operations completing later count as unknown; that view only gets
 * harder to linearize as T grows (every linearization at T' restricts to one
 * at T < T'), so T is found by binary search over completion times.
 *
 * The prefix is returned with every operation as recorded (results included,
 * even those learnt after T), which constrains it further, so it is not
 * linearizable on its own and can be re-checked or read by a person. Failed
 * operations and gets with unknown results are left out: they cannot matter.
 * If the budget runs out while shrinking, the smallest failing prefix found
 * so far is returned (at worst the whole key history).
 */
export function shortestFailingPrefix(operations: readonly HistoryOperation[], budget: SearchBudget): FailingPrefix {
  const relevant = operations.filter(isRelevant);
  const completions = [
    ...new Set(relevant.flatMap((operation) => (operation.completedMs === null ? [] : [operation.completedMs]))),
  ].sort(compareNumbers);
  // Invariant: the history known at completions[high] is not linearizable
  // (true for the last completion: only unknown operations come later, and
  // those may be dropped); the one known at completions[low - 1] is.
  let low = 0;
  let high = completions.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    const outcome = searchLinearization(compileKeyHistory(relevant, completions[middle]), budget);
    if (outcome.verdict === 'undecided') break;
    if (outcome.verdict === 'not-linearizable') high = middle;
    else low = middle + 1;
  }
  const failingAtMs = completions[high] ?? Infinity;
  const prefix = relevant
    .filter((operation) => operation.invokedMs <= failingAtMs)
    .sort(
      (a, b) =>
        compareNumbers(a.invokedMs, b.invokedMs) ||
        compareNumbers(a.completedMs ?? Infinity, b.completedMs ?? Infinity),
    );
  return { operations: prefix, failingAtMs };
}

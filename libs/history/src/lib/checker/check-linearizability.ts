import { InvalidArgumentError } from '@bulwark/errors';
import { compareStrings } from '../compare';
import { findProblem, type HistoryOperation } from '../operation';
import type { HistoryTime } from '../time';
import { comparableHistory } from './comparable-times';
import { shortestFailingPrefix } from './failing-prefix';
import { searchLinearization } from './linearization-search';
import { compileKeyHistory } from './register-model';
import { SearchBudget, type CheckBudget, type ExhaustionReason } from './search-budget';

export interface CheckOptions {
  readonly budget?: CheckBudget;
}

/** Time: the kind of times in the history checked; the report gives back operations and times as recorded. */
export type CheckResult<Time extends HistoryTime = HistoryTime> =
  | { readonly verdict: 'linearizable'; readonly keys: number; readonly steps: number }
  | {
      readonly verdict: 'not-linearizable';
      readonly key: string;
      /** The shortest prefix of the key's history that is already not linearizable, ordered by invocation. */
      readonly failingPrefix: readonly HistoryOperation<Time>[];
      /** When that prefix stopped being linearizable: the completion that made it so. */
      readonly failingAtMs: Time;
      readonly steps: number;
    }
  | { readonly verdict: 'undecided'; readonly key: string; readonly reason: ExhaustionReason; readonly steps: number };

/** Operations grouped by key; one map entry per distinct key in the history. */
function groupByKey(history: readonly HistoryOperation[]): Map<string, HistoryOperation[]> {
  const byKey = new Map<string, HistoryOperation[]>();
  for (const operation of history) {
    const operations = byKey.get(operation.key);
    if (operations) operations.push(operation);
    else byKey.set(operation.key, [operation]);
  }
  return byKey;
}

/**
 * Whether a history of register operations is linearizable. Times are
 * compared exactly, whatever their kinds (see comparableHistory). Keys are
 * independent registers, so each key is checked on its own (Horn and
 * Kroening's P-compositionality), in a fixed order of keys so that the
 * verdict, the key reported and the steps are the same on every run. Stops at
 * the first key that is not linearizable, or undecided when the budget runs
 * out. Throws InvalidArgumentError naming the first malformed operation field.
 */
export function checkLinearizability<Time extends HistoryTime>(
  history: readonly HistoryOperation<Time>[],
  options: CheckOptions = {},
): CheckResult<Time> {
  history.forEach((operation, index) => {
    const found = findProblem(operation);
    if (found) throw new InvalidArgumentError(`history[${index}].${found.field}`, found.problem);
  });
  const budget = new SearchBudget(options.budget);
  const comparable = comparableHistory(history);
  const byKey = groupByKey(comparable.operations);
  const keys = [...byKey.keys()].sort(compareStrings);
  for (const key of keys) {
    const operations = byKey.get(key) as HistoryOperation[];
    const outcome = searchLinearization(compileKeyHistory(operations), budget);
    if (outcome.verdict === 'undecided')
      return { verdict: 'undecided', key, reason: outcome.reason, steps: budget.steps };
    if (outcome.verdict === 'not-linearizable') {
      const { operations: prefix, failingAtMs } = shortestFailingPrefix(operations, budget);
      return {
        verdict: 'not-linearizable',
        key,
        failingPrefix: prefix.map(comparable.recordedOperation),
        failingAtMs: comparable.recordedTime(failingAtMs),
        steps: budget.steps,
      };
    }
  }
  return { verdict: 'linearizable', keys: keys.length, steps: budget.steps };
}

import { InvalidArgumentError } from '@bulwark/errors';
import { checkLinearizability, type CheckBudget, type HistoryOperation } from '@bulwark/history';

// libs/history gives the shortest failing prefix of a key's history: every
// operation invoked before the completion that made it non-linearizable,
// most of which a person need not read. This removes operations while the
// rest stays non-linearizable (chunks first, then one at a time, as delta
// debugging does), bounded by a number of checks.

export interface ShrinkOptions {
  /** Search budget of each check. */
  readonly budget?: CheckBudget;
  /** Checks to spend at most; defaultShrinkChecksMax. */
  readonly checksMax?: number;
}

export interface ShrunkHistory {
  /** Still not linearizable, in the order given. */
  readonly operations: readonly HistoryOperation[];
  /**
   * Whether removing any one more operation would make it linearizable or
   * take away the writer of a value it reads (false: checksMax stopped it).
   */
  readonly minimal: boolean;
  readonly checks: number;
}

/** A failing prefix of a few hundred operations shrinks to a handful within this many checks. */
export const defaultShrinkChecksMax = 2_000;

/** Values the operations need someone to have written: read by a get, or expected by a cas that swapped. */
function valuesNeeded(operations: readonly HistoryOperation[]): Set<string> {
  const needed = new Set<string>();
  for (const { op, outcome, result, expect } of operations) {
    if (outcome !== 'ok') continue;
    if (op === 'get' && typeof result === 'string') needed.add(result);
    if (op === 'cas' && result === true && expect !== null) needed.add(expect);
  }
  return needed;
}

function valuesWritten(operations: readonly HistoryOperation[]): Set<string> {
  return new Set(
    operations.flatMap(({ op, value }) => ((op === 'put' || op === 'cas') && value !== null ? [value] : [])),
  );
}

/**
 * Whether dropping operations from `current` to get `candidate` keeps the
 * story: a read whose value someone in `current` wrote must still have that
 * writer. Otherwise shrinking a stale read [put a, put b, get a] would end at
 * [get a], a read of a value never written: still not linearizable, but no
 * longer showing what went wrong.
 */
function keepsWriters(current: readonly HistoryOperation[], candidate: readonly HistoryOperation[]): boolean {
  const before = valuesWritten(current);
  const after = valuesWritten(candidate);
  return [...valuesNeeded(candidate)].every((value) => !before.has(value) || after.has(value));
}

/** Shrinks a non-linearizable history of one key (such as libs/history's failing prefix). */
export function shrinkFailingHistory(
  operations: readonly HistoryOperation[],
  options: ShrinkOptions = {},
): ShrunkHistory {
  const checksMax = options.checksMax ?? defaultShrinkChecksMax;
  if (!Number.isSafeInteger(checksMax) || checksMax < 0) {
    throw new InvalidArgumentError('shrinkChecksMax', `must be an integer of at least 0, got ${checksMax}`);
  }
  let checks = 0;
  const stillFails = (candidate: readonly HistoryOperation[]) => {
    checks += 1;
    return checkLinearizability(candidate, { budget: options.budget }).verdict === 'not-linearizable';
  };
  let current = [...operations];
  let chunk = Math.max(1, Math.ceil(current.length / 2));
  for (;;) {
    let removed = false;
    let start = 0;
    while (start < current.length) {
      if (checks >= checksMax) return { operations: current, minimal: false, checks };
      const candidate = [...current.slice(0, start), ...current.slice(start + chunk)];
      if (candidate.length > 0 && keepsWriters(current, candidate) && stillFails(candidate)) {
        current = candidate;
        removed = true;
      } else {
        start += chunk;
      }
    }
    if (chunk > 1) chunk = Math.ceil(chunk / 2);
    else if (!removed) return { operations: current, minimal: true, checks };
  }
}

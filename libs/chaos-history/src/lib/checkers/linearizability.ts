import { checkLinearizability, type CheckBudget, type ExhaustionReason, type HistoryOperation } from '@bulwark/history';
import { asHistory, recordsOf, type HistoryInput } from '../history-index';
import { toRegisterHistory, type ExcludedKey } from '../register-history';
import { AnomalyList, type Anomaly, type CheckerResult } from './anomalies';
import { shrinkFailingHistory } from './shrink';

export interface LinearizabilityOptions {
  /** libs/history's search budget, for each key's check and for each check while shrinking its failure. */
  readonly budget?: CheckBudget;
  /** Checks to spend shrinking one key's failure; defaultShrinkChecksMax. */
  readonly shrinkChecksMax?: number;
  readonly anomaliesMax?: number;
}

export interface NonLinearizableKey extends Anomaly<'not-linearizable'> {
  readonly key: string;
  /** Operations in libs/history's shortest failing prefix, before shrinking. */
  readonly failingPrefixOperations: number;
  /** The operations left after shrinking (records holds their invocations and completions). */
  readonly opIds: readonly number[];
  /** Whether no single operation more could be removed (false: the shrinking bound stopped it). */
  readonly minimal: boolean;
}

export interface UndecidedKey {
  readonly key: string;
  readonly reason: ExhaustionReason;
}

export interface LinearizabilityResult extends CheckerResult<NonLinearizableKey> {
  /** Keys found linearizable or not (not excluded, not undecided). */
  readonly keysDecided: number;
  readonly excludedKeys: readonly ExcludedKey[];
  /** Keys whose search ran out of budget: neither passed nor failed. */
  readonly undecidedKeys: readonly UndecidedKey[];
}

function byKey(operations: readonly HistoryOperation[]): Map<string, HistoryOperation[]> {
  const keys = new Map<string, HistoryOperation[]>();
  for (const operation of operations) {
    const list = keys.get(operation.key);
    if (list) list.push(operation);
    else keys.set(operation.key, [operation]);
  }
  return keys;
}

/**
 * Checks every convertible key (see toRegisterHistory) with libs/history,
 * each key on its own and in key order (unlike checkLinearizability, which
 * stops at the first key that fails), and shrinks each failure to a small
 * sub-history that is still not linearizable.
 */
export function checkChaosLinearizability(
  input: HistoryInput,
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const history = asHistory(input);
  const registers = toRegisterHistory(history);
  const anomalies = new AnomalyList<NonLinearizableKey>(options.anomaliesMax);
  const undecidedKeys: UndecidedKey[] = [];
  let keysDecided = 0;
  const keys = byKey(registers.operations);
  for (const key of [...keys.keys()].sort()) {
    const verdict = checkLinearizability(keys.get(key) as HistoryOperation[], { budget: options.budget });
    if (verdict.verdict === 'undecided') {
      undecidedKeys.push({ key, reason: verdict.reason });
      continue;
    }
    keysDecided += 1;
    if (verdict.verdict === 'linearizable') continue;
    const shrunk = shrinkFailingHistory(verdict.failingPrefix, {
      budget: options.budget,
      checksMax: options.shrinkChecksMax,
    });
    const sources = shrunk.operations.map(registers.sourceOf);
    anomalies.add({
      kind: 'not-linearizable',
      description:
        `key ${JSON.stringify(key)} has no linearization: ${sources.length} operations ` +
        `(${sources.map((source) => `#${source.opId}`).join(', ')}) show it, ` +
        `shrunk from a failing prefix of ${verdict.failingPrefix.length}` +
        (shrunk.minimal ? '' : ' (the shrinking bound stopped it before it was minimal)'),
      records: history.subHistory(sources.flatMap(recordsOf)),
      key,
      failingPrefixOperations: verdict.failingPrefix.length,
      opIds: sources.map((source) => source.opId),
      minimal: shrunk.minimal,
    });
  }
  return { ...anomalies.result(), keysDecided, excludedKeys: registers.excludedKeys, undecidedKeys };
}

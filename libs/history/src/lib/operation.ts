import { compareTimes, DecimalTime, isTime, timeDigitsMax, timeText, type HistoryTime } from './time';

// One client operation on one key of the key-value store, as recorded by a
// test or read from a history file. Every key is an independent register that
// starts absent (null).

export type OperationKind = 'put' | 'get' | 'cas' | 'del';
export const operationKinds: readonly OperationKind[] = ['put', 'get', 'cas', 'del'];

/**
 * ok: completed with the recorded result. fail: definitely did not take
 * effect (the server refused it). unknown: may have taken effect at any time
 * after its invocation, or never (timeout, lost connection, crash).
 */
export type Outcome = 'ok' | 'fail' | 'unknown';
export const outcomes: readonly Outcome[] = ['ok', 'fail', 'unknown'];

/** The value a get read (null: absent) or whether a cas swapped; null for put, del and any op not ok. */
export type OperationResult = string | boolean | null;

/**
 * Time: number for an in-process clock (the recorder); operations read from a
 * file may also hold bigint and DecimalTime times (see time.ts).
 */
export interface HistoryOperation<Time extends HistoryTime = number> {
  /** Who issued it; not used by the checker, shown in reports. */
  readonly client: string;
  readonly key: string;
  readonly op: OperationKind;
  /** put: the value written; cas: the new value (null: make absent); get, del: null. */
  readonly value: string | null;
  /** cas: the value required (null: absent); others: null. */
  readonly expect: string | null;
  readonly result: OperationResult;
  /** When it was invoked: milliseconds from the recorder's clock, or whatever one unit a history file uses. */
  readonly invokedMs: Time;
  /** When the client learned the outcome, in the same unit; null exactly when the outcome is unknown. */
  readonly completedMs: Time | null;
  readonly outcome: Outcome;
}

/** The first thing wrong with an operation, naming the field. */
export interface FieldProblem {
  readonly field: keyof HistoryOperation;
  readonly problem: string;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON.stringify would show Infinity and NaN as null, and throws on a bigint.
  const asWritten = typeof value === 'number' || typeof value === 'bigint' || value instanceof DecimalTime;
  return asWritten ? String(value) : JSON.stringify(value);
}

const timeKinds = `a finite number, a bigint or a DecimalTime (at most ${timeDigitsMax} digits)`;

const isStringOrNull = (value: unknown): boolean => typeof value === 'string' || value === null;

function valueProblem(op: OperationKind, value: unknown): string | null {
  if (op === 'put') return typeof value === 'string' ? null : `must be a string for a put, got ${describe(value)}`;
  if (op === 'cas') return isStringOrNull(value) ? null : `must be a string or null for a cas, got ${describe(value)}`;
  return value === null ? null : `must be null for a ${op}, got ${describe(value)}`;
}

function expectProblem(op: OperationKind, expect: unknown): string | null {
  if (op === 'cas')
    return isStringOrNull(expect) ? null : `must be a string or null for a cas, got ${describe(expect)}`;
  return expect === null ? null : `must be null for a ${op}, got ${describe(expect)}`;
}

function resultProblem(op: OperationKind, outcome: Outcome, result: unknown): string | null {
  if (outcome !== 'ok') {
    return result === null ? null : `must be null when the outcome is ${outcome}, got ${describe(result)}`;
  }
  if (op === 'get')
    return isStringOrNull(result) ? null : `must be a string or null for a get, got ${describe(result)}`;
  if (op === 'cas')
    return typeof result === 'boolean' ? null : `must be true or false for a cas, got ${describe(result)}`;
  return result === null ? null : `must be null for a ${op}, got ${describe(result)}`;
}

function completedProblem(outcome: Outcome, invokedMs: HistoryTime, completedMs: unknown): string | null {
  if (outcome === 'unknown') {
    return completedMs === null ? null : `must be null when the outcome is unknown, got ${describe(completedMs)}`;
  }
  if (!isTime(completedMs)) return `must be ${timeKinds} when the outcome is ${outcome}, got ${describe(completedMs)}`;
  return compareTimes(completedMs, invokedMs) >= 0
    ? null
    : `must not be before the invocation (${timeText(invokedMs)}), got ${timeText(completedMs)}`;
}

/**
 * Checks an operation that may come from outside (a file, a test), field by
 * field at run time, and returns the first problem or null.
 */
export function findProblem(operation: HistoryOperation<HistoryTime>): FieldProblem | null {
  const { client, key, op, outcome, invokedMs } = operation;
  if (typeof client !== 'string') return { field: 'client', problem: `must be a string, got ${describe(client)}` };
  if (typeof key !== 'string') return { field: 'key', problem: `must be a string, got ${describe(key)}` };
  if (!operationKinds.includes(op)) {
    return { field: 'op', problem: `must be one of ${operationKinds.join(', ')}, got ${describe(op)}` };
  }
  if (!outcomes.includes(outcome)) {
    return { field: 'outcome', problem: `must be one of ${outcomes.join(', ')}, got ${describe(outcome)}` };
  }
  if (!isTime(invokedMs)) return { field: 'invokedMs', problem: `must be ${timeKinds}, got ${describe(invokedMs)}` };
  const checks: Array<[keyof HistoryOperation<HistoryTime>, string | null]> = [
    ['completedMs', completedProblem(outcome, invokedMs, operation.completedMs)],
    ['value', valueProblem(op, operation.value)],
    ['expect', expectProblem(op, operation.expect)],
    ['result', resultProblem(op, outcome, operation.result)],
  ];
  for (const [field, problem] of checks) if (problem !== null) return { field, problem };
  return null;
}

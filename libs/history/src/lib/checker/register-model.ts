import type { HistoryOperation } from '../operation';

// The sequential specification of one key: a register that starts absent.
// Values are interned to small integers so a state is a number and the
// search can memoise it cheaply; 0 is absent.

/** A register state: 0 is absent, any other number stands for one value. */
export type RegisterState = number;
export const absent: RegisterState = 0;
/** Returned by a transition that the operation's recorded result rules out in this state. */
export const illegal = -1;

/** Applies one operation to a state: the next state, or `illegal`. */
export type Transition = (state: RegisterState) => RegisterState;

/** An operation as the search sees it: when it may take effect and what it does. */
export interface TimedTransition {
  readonly callMs: number;
  /** Infinity when the outcome is unknown: it may take effect at any later time. */
  readonly returnMs: number;
  readonly apply: Transition;
}

/** Interns the values of one key's history; holds at most one entry per distinct value in it. */
class ValueIds {
  private readonly ids = new Map<string, RegisterState>();

  of(value: string | null): RegisterState {
    if (value === null) return absent;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(value, id);
    }
    return id;
  }
}

function knownTransition(operation: HistoryOperation, ids: ValueIds): Transition {
  const value = ids.of(operation.value);
  const expect = ids.of(operation.expect);
  switch (operation.op) {
    case 'put':
      return () => value;
    case 'del':
      return () => absent;
    case 'get': {
      const read = ids.of(operation.result as string | null);
      return (state) => (state === read ? state : illegal);
    }
    case 'cas':
      return operation.result === true
        ? (state) => (state === expect ? value : illegal)
        : (state) => (state === expect ? illegal : state);
  }
}

/**
 * An operation whose outcome is unknown either took effect, as the model
 * says, or never did (the search then simply never picks it). So a cas only
 * needs its successful branch: a cas that failed changed nothing, exactly
 * like one that never happened. (A get with an unknown result changes
 * nothing and constrains nothing, so it is never compiled.)
 */
function unknownTransition(op: 'put' | 'del' | 'cas', value: RegisterState, expect: RegisterState): Transition {
  switch (op) {
    case 'put':
      return () => value;
    case 'del':
      return () => absent;
    case 'cas':
      return (state) => (state === expect ? value : illegal);
  }
}

/**
 * Compiles one key's operations for the search, as the history looked at
 * `cutoffMs`: operations invoked later are left out and operations that
 * completed later count as unknown (their results were not known yet).
 * Failed operations never took effect and unknown gets change nothing, so
 * both are left out: neither can make a history more or less linearizable.
 */
export function compileKeyHistory(operations: readonly HistoryOperation[], cutoffMs = Infinity): TimedTransition[] {
  const ids = new ValueIds();
  const compiled: TimedTransition[] = [];
  for (const operation of operations) {
    if (operation.outcome === 'fail' || operation.invokedMs > cutoffMs) continue;
    if (operation.completedMs !== null && operation.completedMs <= cutoffMs) {
      compiled.push({
        callMs: operation.invokedMs,
        returnMs: operation.completedMs,
        apply: knownTransition(operation, ids),
      });
    } else if (operation.op !== 'get') {
      const apply = unknownTransition(operation.op, ids.of(operation.value), ids.of(operation.expect));
      compiled.push({ callMs: operation.invokedMs, returnMs: Infinity, apply });
    }
  }
  return compiled;
}

/** Whether an operation can affect the verdict at all: not failed, and not a get with an unknown result. */
export function isRelevant(operation: HistoryOperation): boolean {
  return operation.outcome === 'ok' || (operation.outcome === 'unknown' && operation.op !== 'get');
}

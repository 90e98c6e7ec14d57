import type { ChaosOperation } from './history-index';
import type { Durability, Fence, TxnWrite } from './records';

// What the KV operations of a history wrote, key by key, for the checkers
// that follow a key's value rather than a whole operation.

/** A key set to a value, or deleted (value null). */
export interface KeyWrite {
  readonly key: string;
  readonly value: string | null;
}

const fromTxn = (writes: readonly TxnWrite[]): KeyWrite[] =>
  writes.map((write) => ({ key: write.key, value: write.type === 'put' ? write.value : null }));

/** What the operation writes if it succeeds (for a txn: its success branch). */
function successWrites(operation: ChaosOperation): KeyWrite[] {
  switch (operation.kind) {
    case 'put':
    case 'cas':
      return [{ key: operation.op.key, value: operation.op.value }];
    case 'delete':
      return [{ key: operation.op.key, value: null }];
    case 'txn':
      return fromTxn(operation.op.success);
    default:
      return [];
  }
}

/** The writes of an ok operation, as its result says it made them. */
export function appliedWrites(operation: ChaosOperation): KeyWrite[] {
  if (operation.outcome !== 'ok') return [];
  switch (operation.kind) {
    case 'put':
    case 'delete':
    case 'cas':
      return operation.result?.succeeded ? successWrites(operation) : [];
    case 'txn':
      // A txn whose compares failed writes its failure branch.
      return operation.result?.succeeded ? successWrites(operation) : fromTxn(operation.op.failure);
    default:
      return [];
  }
}

/**
 * Every write the operation may have made: an ok one's applied writes, a
 * failed one's none, and for an unknown one anything it could have done
 * (its write if its condition held; both branches of a txn).
 */
export function possibleWrites(operation: ChaosOperation): KeyWrite[] {
  if (operation.outcome === 'ok') return appliedWrites(operation);
  if (operation.outcome === 'fail') return [];
  return operation.kind === 'txn'
    ? [...successWrites(operation), ...fromTxn(operation.op.failure)]
    : successWrites(operation);
}

/** How a write was acknowledged; null for reads and lock operations. */
export function durabilityOf(operation: ChaosOperation): Durability | null {
  switch (operation.kind) {
    case 'put':
    case 'delete':
    case 'cas':
    case 'txn':
      return operation.op.durability;
    default:
      return null;
  }
}

/** The fence a write carried, if any. */
export function fenceOf(operation: ChaosOperation): Fence | undefined {
  switch (operation.kind) {
    case 'put':
    case 'delete':
    case 'cas':
    case 'txn':
      return operation.op.fence;
    default:
      return undefined;
  }
}

/** The replica group that acknowledged an ok write; null otherwise. */
export function groupOf(operation: ChaosOperation): string | null {
  switch (operation.kind) {
    case 'put':
    case 'delete':
    case 'cas':
    case 'txn':
      return operation.result?.group ?? null;
    default:
      return null;
  }
}

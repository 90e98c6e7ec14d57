import type { HistoryOperation } from '@bulwark/history';
import { asHistory, type ChaosOperation, type HistoryInput } from './history-index';

// The single-key operations of a chaos history in libs/history's model (one
// register per key, starting absent: put, get, cas on the value, del), so
// that its linearizability checker, or `npm run check-history` on the
// formatted lines, can judge them. A key is converted only if every write
// that may have touched it is one the model describes; leaving out a write
// that took effect would make correct reads look wrong, while leaving out a
// read only loses evidence.

/**
 * Why a key is not converted, for its first write (not failed) of these:
 * async-write: acknowledged before the backups had it, so a failover may lose
 * it, which a register cannot do; version-conditional-write: a put or delete
 * with expectedVersion (a register has values, not versions); transaction: a
 * txn writes it (either branch).
 */
export type ExclusionReason = 'async-write' | 'version-conditional-write' | 'transaction';

export interface ExcludedKey {
  readonly key: string;
  readonly reason: ExclusionReason;
  /** The operation that excludes it. */
  readonly opId: number;
}

export interface RegisterHistory {
  /** In invocation order; monoMs times; failed operations included (the check-history format leaves them out). */
  readonly operations: readonly HistoryOperation[];
  /** In order of the operations that excluded them. */
  readonly excludedKeys: readonly ExcludedKey[];
  /** The chaos operation a converted one stands for. */
  sourceOf(operation: HistoryOperation): ChaosOperation;
}

type Conversion =
  | { readonly converted: Omit<HistoryOperation, 'client' | 'invokedMs' | 'completedMs' | 'outcome'> }
  | { readonly excludes: readonly string[]; readonly reason: ExclusionReason }
  | null;

/** The register operation an operation is, what it excludes, or null when it does not matter to a register. */
function convert(operation: ChaosOperation): Conversion {
  const ok = operation.outcome === 'ok';
  switch (operation.kind) {
    case 'get':
      // Only STRONG reads promise linearizability; a read that did not complete constrains nothing.
      if (operation.op.consistency !== 'strong' || !ok) return null;
      return {
        converted: {
          key: operation.op.key,
          op: 'get',
          value: null,
          expect: null,
          result: operation.result?.value ?? null,
        },
      };
    case 'put':
    case 'delete': {
      const { key, durability, expectedVersion } = operation.op;
      if (durability === 'async') return { excludes: [key], reason: 'async-write' };
      if (expectedVersion !== undefined) return { excludes: [key], reason: 'version-conditional-write' };
      return operation.kind === 'put'
        ? { converted: { key, op: 'put', value: operation.op.value, expect: null, result: null } }
        : { converted: { key, op: 'del', value: null, expect: null, result: null } };
    }
    case 'cas': {
      const { key, durability, expect, value } = operation.op;
      if (durability === 'async') return { excludes: [key], reason: 'async-write' };
      return {
        converted: { key, op: 'cas', value, expect, result: ok ? (operation.result?.succeeded ?? null) : null },
      };
    }
    case 'txn': {
      const keys = [...operation.op.success, ...operation.op.failure].map((write) => write.key);
      return { excludes: keys, reason: 'transaction' };
    }
    default:
      return null;
  }
}

/**
 * The register history of every key whose writes are all sync, unconditional
 * or value-compare-and-set single-key writes (see ExclusionReason). Reads
 * other than STRONG ones are left out (they may be stale by design), and so
 * are reads that did not complete. Times are monoMs: an unknown outcome has
 * no completion time.
 */
export function toRegisterHistory(input: HistoryInput): RegisterHistory {
  const history = asHistory(input);
  const excluded = new Map<string, ExcludedKey>();
  const converted: { readonly operation: HistoryOperation; readonly source: ChaosOperation }[] = [];
  for (const source of history.operations) {
    const conversion = convert(source);
    if (conversion === null) continue;
    if ('excludes' in conversion) {
      // A write that failed never took effect: it excludes nothing.
      if (source.outcome === 'fail') continue;
      for (const key of conversion.excludes) {
        if (!excluded.has(key)) excluded.set(key, { key, reason: conversion.reason, opId: source.opId });
      }
      continue;
    }
    const operation: HistoryOperation = {
      ...conversion.converted,
      client: source.client,
      invokedMs: source.invokedMs,
      completedMs: source.completedMs,
      outcome: source.outcome,
    };
    converted.push({ operation, source });
  }
  const kept = converted.filter(({ operation }) => !excluded.has(operation.key));
  const sources = new Map(kept.map(({ operation, source }) => [operation, source]));
  return {
    operations: kept.map(({ operation }) => operation),
    excludedKeys: [...excluded.values()],
    sourceOf: (operation) => {
      const source = sources.get(operation);
      if (source === undefined) throw new Error('sourceOf: not an operation of this register history');
      return source;
    },
  };
}

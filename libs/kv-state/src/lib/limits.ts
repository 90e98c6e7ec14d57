// The bounds of a replica group's state. Every member of a group must run
// with the same limits: they decide outcomes, so members with different
// limits could answer the same entry differently.

export interface KvLimits {
  /** Longest key, in UTF-8 bytes (kv.v1: 1 to 1024). */
  readonly keyBytesMax: number;
  /** Largest value, in bytes (kv.v1: 1 MiB). */
  readonly valueBytesMax: number;
  /** Most compares, and most ops in each branch, of one transaction. */
  readonly txnOpsMax: number;
  /** Key plus value bytes of all live keys together. */
  readonly totalBytesMax: number;
  /** Lock names whose highest fencing token is kept. Never evicted: that would let a stale token through. */
  readonly fenceNamesMax: number;
  /** Longest lock name, in UTF-8 bytes (lock.v1: 1 to 256 characters). */
  readonly lockNameBytesMax: number;
  /** Request ids whose first outcome is remembered; the oldest (lowest sequence) is forgotten first. */
  readonly dedupeEntriesMax: number;
  /** Bytes the remembered outcomes may take (their encoded size plus id), oldest forgotten first. */
  readonly dedupeBytesMax: number;
  /** Most keys one scan page returns (kv.v1: 1 to 1000). */
  readonly scanLimitMax: number;
}

export const defaultKvLimits: KvLimits = Object.freeze({
  keyBytesMax: 1024,
  valueBytesMax: 1024 * 1024,
  txnOpsMax: 128,
  totalBytesMax: 1024 * 1024 * 1024,
  fenceNamesMax: 100_000,
  lockNameBytesMax: 1024,
  dedupeEntriesMax: 100_000,
  // A single-op outcome takes about 40 bytes plus its id: 100,000 of them
  // fit many times over; the bound matters for transactions of 128 ops.
  dedupeBytesMax: 32 * 1024 * 1024,
  scanLimitMax: 1000,
});

/** A request id: at most 128 bytes of UTF-8 (kv.v1 request_id); '' for none. */
export const requestIdBytesMax = 128;

/** The largest value a 64-bit unsigned field (sequences, versions, tokens, times) can hold. */
export const uint64Max = (1n << 64n) - 1n;

/** The defaults with `overrides` applied; throws RangeError on an unknown name or a limit that is not a positive safe integer. */
export function kvLimits(overrides: Partial<KvLimits> = {}): KvLimits {
  for (const name of Object.keys(overrides)) {
    if (!(name in defaultKvLimits)) throw new RangeError(`unknown limit ${name}`);
  }
  const limits = { ...defaultKvLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return Object.freeze(limits);
}

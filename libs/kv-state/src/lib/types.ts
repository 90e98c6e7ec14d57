// The commands a replica group's log carries and the outcomes applying them
// gives. Every 64-bit number (sequences, versions, tokens, times) is a
// bigint. Outcomes are plain, frozen data: every member computes the same
// outcome for the same entry, so any member can answer for it.

/** A lock fencing token (lock.v1 Acquire) guarding a write (common.v1.Fence). */
export interface Fence {
  readonly lockName: string;
  readonly token: bigint;
}

/** A condition of a transaction, etcd style; a version of 0 stands for an absent key. */
export type Compare =
  | {
      readonly key: string;
      readonly target: 'version';
      readonly op: 'eq' | 'ne' | 'lt' | 'gt';
      readonly version: bigint;
    }
  | { readonly key: string; readonly target: 'value'; readonly op: 'eq' | 'ne'; readonly value: Uint8Array };

/** One write. `expectedVersion` makes it conditional: 0n means the key must not exist. */
export type Op =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array; readonly expectedVersion?: bigint }
  | { readonly type: 'delete'; readonly key: string; readonly expectedVersion?: bigint };

export type CommandBody =
  | { readonly type: 'op'; readonly op: Op }
  | {
      readonly type: 'txn';
      readonly compares: readonly Compare[];
      readonly success: readonly Op[];
      readonly failure: readonly Op[];
    }
  /** A new primary's first entry of its epoch. */
  | { readonly type: 'noop' };

/** One entry of the group log, as the primary stamped it. */
export interface Command {
  /** '' for none; otherwise the caller's idempotency key (at most 128 bytes of UTF-8). */
  readonly requestId: string;
  /** The primary's wall clock when it stamped the entry; stored for bounded-staleness reads, never decided on. */
  readonly writtenUnixMs: bigint;
  readonly fence?: Fence;
  readonly body: CommandBody;
}

/** One stored key, as kv.v1.KeyValue. */
export interface KeyValue {
  readonly key: string;
  /** Shared with the state: never modify it. */
  readonly value: Uint8Array;
  /** Writes since the key was last created: 1 after the first put. */
  readonly version: bigint;
  /** The sequence of the put that created the key. */
  readonly createSequence: bigint;
  /** The sequence of the write that produced this version. */
  readonly modSequence: bigint;
}

/** A key's version and the sequence that wrote it. */
export interface KeyRevision {
  readonly version: bigint;
  readonly modSequence: bigint;
}

/**
 * What one put or delete did. `version` and `modSequence` describe the key
 * after the op (0n and 0n: absent); on a failed compare they describe the
 * key as it is, which the op left alone. `previous` is the key before a
 * write that took effect, when it existed: a delete removed a key exactly
 * when it succeeded with `previous` set.
 */
export interface WrittenOutcome {
  readonly kind: 'written';
  /** False only when `expectedVersion` did not match. */
  readonly succeeded: boolean;
  readonly version: bigint;
  readonly modSequence: bigint;
  readonly previous?: KeyRevision;
}

/** A transaction: `succeeded` says whether every compare held, `results` has one entry per op of the branch run. */
export interface TxnOutcome {
  readonly kind: 'txn';
  readonly succeeded: boolean;
  readonly results: readonly WrittenOutcome[];
}

export interface NoopOutcome {
  readonly kind: 'noop';
}

/** The codes of @bulwark/errors' kinds a refusal can have. */
export type RefusalCode = 'failed-precondition' | 'resource-exhausted' | 'invalid-argument';

/** A command the state machine refused, changing nothing. `field` is named as the proto spells it. */
export interface RefusedOutcome {
  readonly kind: 'refused';
  readonly code: RefusalCode;
  readonly field: string;
  readonly message: string;
}

export type Outcome = WrittenOutcome | TxnOutcome | NoopOutcome | RefusedOutcome;

export interface ScanRequest {
  /** Only keys that start with it; '' or absent for every key. */
  readonly prefix?: string;
  /** The first key to consider (inclusive): a page's `nextStartKey`. */
  readonly startKey?: string;
  /** Keys from here on are left out (exclusive). */
  readonly endKey?: string;
  /** Keys per page, 1 to the limits' `scanLimitMax`. */
  readonly limit: number;
}

export interface ScanPage {
  /** In ascending key order (code point order, which is UTF-8 byte order). */
  readonly kvs: readonly KeyValue[];
  /** Where the next page starts (a key that exists now); absent when the range is done. */
  readonly nextStartKey?: string;
}

// The records of a chaos run, one JSON line each (see json-lines.ts and the
// README): every client operation as an invocation and at most one
// completion, every fault as a start and an end, and after healing one final
// read of every replica. Times come in pairs: wallMs (Date.now(), for people
// and for lining records up with server logs) and monoMs (one monotonic
// clock shared by every client of the run, such as one process's
// performance.now()). The checkers compare monoMs only: a wall clock may step.

export type Durability = 'sync' | 'async';
export const durabilities: readonly Durability[] = ['sync', 'async'];

export type Consistency = 'strong' | 'bounded' | 'eventual';
export const consistencies: readonly Consistency[] = ['strong', 'bounded', 'eventual'];

/** A lock's fencing token on a write: replicas refuse a token below the highest they accepted for the lock. */
export interface Fence {
  readonly lockName: string;
  readonly token: bigint;
}

/** kv.v1 Put; with expectedVersion it writes only if the key's version is that (0: absent). */
export interface PutOperation {
  readonly kind: 'put';
  readonly key: string;
  readonly value: string;
  readonly durability: Durability;
  readonly expectedVersion?: bigint;
  readonly fence?: Fence;
}

export interface GetOperation {
  readonly kind: 'get';
  readonly key: string;
  readonly consistency: Consistency;
  /**
   * Bounded reads only: the max_staleness_ms the client asked for (at least
   * 0). Absent on other reads, and on bounded reads recorded before it was
   * kept (those are judged without a bound).
   */
  readonly maxStalenessMs?: number;
}

/** kv.v1 Delete; with expectedVersion it deletes only if the key's version is that. */
export interface DeleteOperation {
  readonly kind: 'delete';
  readonly key: string;
  readonly durability: Durability;
  readonly expectedVersion?: bigint;
  readonly fence?: Fence;
}

/**
 * Compare-and-set on the value: writes `value` if the key holds `expect`
 * (null: the key is absent), as a kv.v1 Txn with one compare (on the value,
 * or on version 0 for absent) and one put. Compared on the value, not the
 * version, so that libs/history's register model can check it.
 */
export interface CasOperation {
  readonly kind: 'cas';
  readonly key: string;
  readonly expect: string | null;
  readonly value: string;
  readonly durability: Durability;
  readonly fence?: Fence;
}

export type CompareOperator = 'equal' | 'not-equal' | 'less' | 'greater';
export const compareOperators: readonly CompareOperator[] = ['equal', 'not-equal', 'less', 'greater'];

/** One kv.v1 Compare of a transaction. */
export type TxnCompare =
  | { readonly key: string; readonly target: 'version'; readonly operator: CompareOperator; readonly version: bigint }
  | { readonly key: string; readonly target: 'value'; readonly operator: CompareOperator; readonly value: string };

/** One write of a transaction branch. */
export type TxnWrite =
  | { readonly type: 'put'; readonly key: string; readonly value: string }
  | { readonly type: 'delete'; readonly key: string };

/** kv.v1 Txn, whose keys all belong to one replica group: `success` if every compare holds, else `failure`. */
export interface TxnOperation {
  readonly kind: 'txn';
  readonly compares: readonly TxnCompare[];
  readonly success: readonly TxnWrite[];
  readonly failure: readonly TxnWrite[];
  readonly durability: Durability;
  readonly fence?: Fence;
}

/** lock.v1 Acquire or TryAcquire. */
export interface LockAcquireOperation {
  readonly kind: 'lock-acquire';
  readonly name: string;
  readonly owner: string;
  readonly ttlMs: number;
}

export interface LockReleaseOperation {
  readonly kind: 'lock-release';
  readonly name: string;
  readonly owner: string;
  readonly token: bigint;
}

export interface OperationsByKind {
  readonly put: PutOperation;
  readonly get: GetOperation;
  readonly delete: DeleteOperation;
  readonly cas: CasOperation;
  readonly txn: TxnOperation;
  readonly 'lock-acquire': LockAcquireOperation;
  readonly 'lock-release': LockReleaseOperation;
}
export type OperationKind = keyof OperationsByKind;
export type Operation = OperationsByKind[OperationKind];
export const operationKinds: readonly OperationKind[] = [
  'put',
  'get',
  'delete',
  'cas',
  'txn',
  'lock-acquire',
  'lock-release',
];

/**
 * Where in its group's log a write was committed, from the response header:
 * `epoch`, the group's configuration epoch the primary acted under, and
 * `sequence`, the replica log sequence of the write's own entry (both at
 * least 1). Both present or both absent: absent in histories recorded before
 * they were kept. Every write is one entry, also one that did not succeed.
 */
export interface LogPosition {
  readonly epoch?: bigint;
  readonly sequence?: bigint;
}

/** `group`: the replica group that answered (the response header's group_id); a fence is kept per group. */
export interface PutResult extends LogPosition {
  readonly kind: 'put';
  /** false only when expectedVersion did not match. */
  readonly succeeded: boolean;
  /** The key's version after the write (the current one when it did not succeed). */
  readonly version: bigint;
  readonly group: string;
}

export interface GetResult {
  readonly kind: 'get';
  /** null: the key is absent. */
  readonly value: string | null;
  /** 0 when absent. */
  readonly version: bigint;
  /** The replica that answered. */
  readonly member: string;
}

export interface DeleteResult extends LogPosition {
  readonly kind: 'delete';
  readonly succeeded: boolean;
  readonly existed: boolean;
  readonly group: string;
}

export interface CasResult extends LogPosition {
  readonly kind: 'cas';
  /** Whether it swapped. */
  readonly succeeded: boolean;
  readonly group: string;
}

export interface TxnResult extends LogPosition {
  readonly kind: 'txn';
  /** Whether every compare held, so the success branch was written (else the failure branch). */
  readonly succeeded: boolean;
  readonly group: string;
}

/**
 * validUntilMonoMs: on the monoMs clock, until when the client may act under
 * the grant: the service's valid_for_ms counted from when the request was
 * sent (what @bulwark/lock-client's validUntilMs is), or from the invocation.
 * Not ok-time plus TTL, nor invocation plus TTL: the service withholds a
 * drift allowance from the TTL, and may let the next holder in once the
 * validity it promised is over.
 */
export type LockAcquireResult =
  | {
      readonly kind: 'lock-acquire';
      readonly acquired: true;
      readonly token: bigint;
      readonly validUntilMonoMs: number;
    }
  /** A TryAcquire of a held lock. */
  | { readonly kind: 'lock-acquire'; readonly acquired: false };

export interface LockReleaseResult {
  readonly kind: 'lock-release';
}

export interface ResultsByKind {
  readonly put: PutResult;
  readonly get: GetResult;
  readonly delete: DeleteResult;
  readonly cas: CasResult;
  readonly txn: TxnResult;
  readonly 'lock-acquire': LockAcquireResult;
  readonly 'lock-release': LockReleaseResult;
}
export type OperationResult = ResultsByKind[OperationKind];

/** A client is about to call. opId is unique in the history; client is who calls (one call at a time or not). */
export interface InvokeRecord {
  readonly type: 'invoke';
  readonly opId: number;
  readonly client: string;
  readonly wallMs: number;
  readonly monoMs: number;
  readonly op: Operation;
}

/** The call completed with this result. */
export interface OkRecord {
  readonly type: 'ok';
  readonly opId: number;
  readonly client: string;
  readonly wallMs: number;
  readonly monoMs: number;
  readonly result: OperationResult;
}

/** The call definitely did not take effect (refused: invalid, stale fence, failed precondition). */
export interface FailRecord {
  readonly type: 'fail';
  readonly opId: number;
  readonly client: string;
  readonly wallMs: number;
  readonly monoMs: number;
  /** What the client got, e.g. "failed-precondition: fence.token: token 1 is below 2". */
  readonly error: string;
}

/**
 * The client stopped waiting without knowing: the operation may take effect
 * at any time after its invocation, or never (a timeout, a lost connection).
 * An invocation never completed in the history counts as unknown too.
 */
export interface UnknownRecord {
  readonly type: 'unknown';
  readonly opId: number;
  readonly client: string;
  readonly wallMs: number;
  readonly monoMs: number;
  readonly error: string;
}

export type CompletionRecord = OkRecord | FailRecord | UnknownRecord;

/** What a fault hit: a member, its group (null: not a replica) and whether it was its group's primary then. */
export interface FaultTarget {
  readonly member: string;
  readonly group: string | null;
  readonly primary: boolean;
}

/** A fault began (phase start) or was healed (phase end, same faultId and kind). */
export interface FaultRecord {
  readonly type: 'fault';
  readonly faultId: number;
  readonly phase: 'start' | 'end';
  readonly wallMs: number;
  readonly monoMs: number;
  /** What the chaos tool did, lower-case words joined by '-': kill, pause, partition, clock-skew, ... */
  readonly kind: string;
  readonly targets: readonly FaultTarget[];
  /** For people: the signal, the rule, the skew. */
  readonly detail: string;
}

/** After healing: what one replica holds for every key of the run in its group, and its state digest. */
export interface FinalReadRecord {
  readonly type: 'final-read';
  readonly group: string;
  readonly member: string;
  readonly wallMs: number;
  readonly monoMs: number;
  readonly digest: string;
  /** Every key of the run that the group owns, to its value there (null: absent). */
  readonly values: ReadonlyMap<string, string | null>;
}

/** After healing, a replica did not answer its final read. */
export interface FinalReadFailedRecord {
  readonly type: 'final-read-failed';
  readonly group: string;
  readonly member: string;
  readonly wallMs: number;
  readonly monoMs: number;
  readonly error: string;
}

export type ChaosRecord =
  InvokeRecord | OkRecord | FailRecord | UnknownRecord | FaultRecord | FinalReadRecord | FinalReadFailedRecord;
export type ChaosRecordType = ChaosRecord['type'];

/** Fencing tokens, versions, expected versions, epochs and sequences are uint64. */
export const uint64Max = 2n ** 64n - 1n;

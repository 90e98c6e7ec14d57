// What the KV client takes and gives: kv.v1's messages in the shapes
// application code writes (strings or bytes for values, names for enums,
// bigints for 64-bit fields) and the conversions to and from the contract.
import { kvV1, type commonV1 } from '@bulwark/contracts';
import type { BulwarkError } from '@bulwark/errors';

/** A value to write: a string is stored as its UTF-8 bytes. */
export type ValueInput = string | Uint8Array;

/** Which replica may answer a read (kv.v1 Consistency). */
export type ReadConsistency = 'strong' | 'bounded' | 'eventual';

/** When a write is acknowledged (kv.v1 Durability); the group's configured mode when unset. */
export type Durability = 'sync' | 'async';

export interface CallOptions {
  /** Deadline of the whole call, retries on other routers included, ms from now; the client's callTimeoutMs when unset. */
  readonly timeoutMs?: number;
}

/** STRONG (the default) reads the primary under its lease; BOUNDED needs how far behind an in-sync replica may be. */
export type ReadOptions = CallOptions &
  (
    | { readonly consistency?: 'strong' | 'eventual' }
    | { readonly consistency: 'bounded'; readonly maxStalenessMs: number }
  );

/** A lock fencing token (lock.v1): a write under a token lower than one already seen for the lock is refused. */
export interface Fence {
  readonly lockName: string;
  readonly token: bigint;
}

export interface WriteOptions extends CallOptions {
  readonly durability?: Durability;
  readonly fence?: Fence;
  /**
   * Identifies the write for deduplication (at most 128 bytes); the client
   * makes a new one per write when unset or empty. Every attempt of the write, on
   * any router, carries the same id, so it is applied at most once. Pass
   * your own (newRequestId()) to learn the outcome of a write whose call
   * failed with a retryable error by sending it again with that id.
   */
  readonly requestId?: string;
}

export interface PutOptions extends WriteOptions {
  /** Write only if the key is at this version (0: only if absent); a mismatch is not an error (succeeded false). */
  readonly expectedVersion?: bigint;
}

export interface DeleteOptions extends WriteOptions {
  /** Delete only if the key is at this version. */
  readonly expectedVersion?: bigint;
}

export interface ScanOptions extends CallOptions {
  /** Keys per page, 1 to 1000; the router's default (100) when unset. */
  readonly pageSize?: number;
  /** Continues a scan where the page that returned it ended; for the same prefix only. */
  readonly pageToken?: string;
  readonly consistency?: ReadConsistency;
  /** Required (> 0) for bounded reads. */
  readonly maxStalenessMs?: number;
}

/** Who answered and what the answer reflects (common.v1 ResponseHeader). */
export interface ResponseHeader {
  /** The replica, router or group member that answered. */
  readonly memberId: string;
  /** The replica group; empty for answers assembled from several (BatchGet, Scan, BatchPut). */
  readonly groupId: string;
  readonly epoch: bigint;
  /** The coordinator topology revision the answer was made under. */
  readonly revision: bigint;
  /** The replica log sequence the answer reflects. */
  readonly sequence: bigint;
}

export interface KeyValue {
  readonly key: string;
  readonly value: Buffer;
  /** Writes since the key was created; 1 after the first put. */
  readonly version: bigint;
  /** The replica log sequence of the write that made this version. */
  readonly modSequence: bigint;
}

export interface GetResult {
  readonly header: ResponseHeader;
  /** Undefined when the key does not exist. */
  readonly kv: KeyValue | undefined;
}

export interface PutResult {
  readonly header: ResponseHeader;
  /** False only when expectedVersion did not match. */
  readonly succeeded: boolean;
  /** The key's version after the write; after a failed compare-and-set, the version there now (0: absent). */
  readonly version: bigint;
  /** The key as stored when the compare-and-set failed. */
  readonly current: KeyValue | undefined;
  /** The id the write carried. */
  readonly requestId: string;
}

export interface DeleteResult {
  readonly header: ResponseHeader;
  /** False only when expectedVersion did not match. */
  readonly succeeded: boolean;
  /** True when the key was there and is gone now. */
  readonly existed: boolean;
  readonly requestId: string;
}

export interface ScanPage {
  readonly header: ResponseHeader;
  /** In ascending key order. */
  readonly kvs: readonly KeyValue[];
  /** Continues the scan; empty when it is complete. */
  readonly nextPageToken: string;
}

export interface BatchGetResult {
  readonly key: string;
  readonly kv: KeyValue | undefined;
  readonly header: ResponseHeader;
}

export interface BatchPutInput {
  readonly key: string;
  readonly value: ValueInput;
  readonly expectedVersion?: bigint;
  readonly durability?: Durability;
  readonly fence?: Fence;
  /** As in WriteOptions; distinct per put. */
  readonly requestId?: string;
}

/** One put of a BatchPut: its answer, or the typed error it failed with on its own. */
export type BatchPutResult =
  | { readonly key: string; readonly requestId: string; readonly ok: true; readonly result: PutResult }
  | { readonly key: string; readonly requestId: string; readonly ok: false; readonly error: BulwarkError };

export type CompareOperator = 'equal' | 'not-equal' | 'less' | 'greater';

/** One condition of a transaction: on the key's version (0: absent), or on its value (equal or not-equal only). */
export type TxnCompare =
  | { readonly key: string; readonly target: 'version'; readonly operator: CompareOperator; readonly version: bigint }
  | {
      readonly key: string;
      readonly target: 'value';
      readonly operator: 'equal' | 'not-equal';
      readonly value: ValueInput;
    };

export type TxnOp =
  | { readonly type: 'put'; readonly key: string; readonly value: ValueInput }
  | { readonly type: 'delete'; readonly key: string };

/** If every compare holds, the success ops, else the failure ops, atomically; every key in one replica group. */
export interface Txn {
  readonly compares?: readonly TxnCompare[];
  readonly success?: readonly TxnOp[];
  readonly failure?: readonly TxnOp[];
}

export interface TxnOpResult {
  readonly key: string;
  /** The key's version after the op (0: absent). */
  readonly version: bigint;
  readonly existed: boolean;
}

export interface TxnResult {
  readonly header: ResponseHeader;
  /** True when every compare held and the success ops ran. */
  readonly succeeded: boolean;
  /** One per op of the branch that ran, in order. */
  readonly results: readonly TxnOpResult[];
  readonly requestId: string;
}

export interface ReplicaLocation {
  readonly memberId: string;
  readonly address: string;
  readonly primary: boolean;
  readonly inSync: boolean;
  /** The router's view of the member's health. */
  readonly serving: boolean;
}

export interface KeyLocation {
  readonly header: ResponseHeader;
  readonly key: string;
  /** The key's 32-bit position on the hash ring. */
  readonly keyHash: number;
  readonly groupId: string;
  readonly ringVersion: bigint;
  readonly epoch: bigint;
  /** Empty during a failover. */
  readonly primary: string;
  /** Every member of the group, the primary first. */
  readonly replicas: readonly ReplicaLocation[];
}

export function valueBytes(value: ValueInput): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}

const consistencies: Readonly<Record<ReadConsistency, kvV1.Consistency>> = {
  strong: kvV1.Consistency.CONSISTENCY_STRONG,
  bounded: kvV1.Consistency.CONSISTENCY_BOUNDED,
  eventual: kvV1.Consistency.CONSISTENCY_EVENTUAL,
};

export function consistencyOf(consistency: ReadConsistency | undefined): kvV1.Consistency {
  return consistency === undefined ? kvV1.Consistency.CONSISTENCY_UNSPECIFIED : consistencies[consistency];
}

export function durabilityOf(durability: Durability | undefined): kvV1.Durability {
  if (durability === 'sync') return kvV1.Durability.DURABILITY_SYNC;
  if (durability === 'async') return kvV1.Durability.DURABILITY_ASYNC;
  return kvV1.Durability.DURABILITY_UNSPECIFIED;
}

const operators: Readonly<Record<CompareOperator, kvV1.CompareOperator>> = {
  equal: kvV1.CompareOperator.COMPARE_OPERATOR_EQUAL,
  'not-equal': kvV1.CompareOperator.COMPARE_OPERATOR_NOT_EQUAL,
  less: kvV1.CompareOperator.COMPARE_OPERATOR_LESS,
  greater: kvV1.CompareOperator.COMPARE_OPERATOR_GREATER,
};

export function compareOf(compare: TxnCompare): kvV1.Compare {
  return compare.target === 'version'
    ? {
        key: compare.key,
        target: kvV1.CompareTarget.COMPARE_TARGET_VERSION,
        operator: operators[compare.operator],
        version: compare.version,
        value: Buffer.alloc(0),
      }
    : {
        key: compare.key,
        target: kvV1.CompareTarget.COMPARE_TARGET_VALUE,
        operator: operators[compare.operator],
        version: 0n,
        value: valueBytes(compare.value),
      };
}

/** An op of a transaction: durability, fence and request id belong to the whole transaction, not its ops. */
export function txnOpOf(op: TxnOp): kvV1.TxnOp {
  const common = { key: op.key, durability: kvV1.Durability.DURABILITY_UNSPECIFIED, fence: undefined, requestId: '' };
  return op.type === 'put'
    ? { op: { $case: 'put', put: { ...common, value: valueBytes(op.value) } } }
    : { op: { $case: 'delete', delete: common } };
}

export function headerOf(header: commonV1.ResponseHeader | undefined): ResponseHeader {
  return {
    memberId: header?.memberId ?? '',
    groupId: header?.groupId ?? '',
    epoch: header?.epoch ?? 0n,
    revision: header?.revision ?? 0n,
    sequence: header?.sequence ?? 0n,
  };
}

export function keyValueOf(kv: kvV1.KeyValue | undefined): KeyValue | undefined {
  return kv && { key: kv.key, value: Buffer.from(kv.value), version: kv.version, modSequence: kv.modSequence };
}

export function putResultOf(response: kvV1.PutResponse, requestId: string): PutResult {
  return {
    header: headerOf(response.header),
    succeeded: response.succeeded,
    version: response.version,
    current: keyValueOf(response.current),
    requestId,
  };
}

// shard.v1 requests for tests, valid unless overridden: putRequest({ key: '' })
// is a Put whose only fault is its empty key.
import { type commonV1, kvV1, type shardV1 } from '@bulwark/contracts';

export const testGroupId = 'g1';

export function putRequest(overrides: Partial<kvV1.PutRequest> = {}): shardV1.PutRequest {
  return {
    groupId: testGroupId,
    request: { ...kvV1.PutRequest.fromPartial({ key: 'a', value: Buffer.from('x') }), ...overrides },
  };
}

export function deleteRequest(overrides: Partial<kvV1.DeleteRequest> = {}): shardV1.DeleteRequest {
  return { groupId: testGroupId, request: { ...kvV1.DeleteRequest.fromPartial({ key: 'a' }), ...overrides } };
}

export function txnRequest(overrides: Partial<kvV1.TxnRequest> = {}): shardV1.TxnRequest {
  return { groupId: testGroupId, request: { ...kvV1.TxnRequest.fromPartial({}), ...overrides } };
}

export function getRequest(overrides: Partial<kvV1.GetRequest> = {}): shardV1.GetRequest {
  return { groupId: testGroupId, request: { ...kvV1.GetRequest.fromPartial({ key: 'a' }), ...overrides } };
}

export function scanRequest(overrides: Partial<shardV1.ScanRequest> = {}): shardV1.ScanRequest {
  return {
    groupId: testGroupId,
    prefix: '',
    startKey: '',
    endKey: '',
    limit: 0,
    consistency: kvV1.Consistency.CONSISTENCY_UNSPECIFIED,
    maxStalenessMs: 0,
    ...overrides,
  };
}

/** A transaction op that puts `value` at `key`. */
export function txnPut(key: string, value: string | Uint8Array, overrides: Partial<kvV1.PutRequest> = {}): kvV1.TxnOp {
  const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value);
  return { op: { $case: 'put', put: { ...kvV1.PutRequest.fromPartial({ key, value: bytes }), ...overrides } } };
}

/** A transaction op that deletes `key`. */
export function txnDelete(key: string, overrides: Partial<kvV1.DeleteRequest> = {}): kvV1.TxnOp {
  return { op: { $case: 'delete', delete: { ...kvV1.DeleteRequest.fromPartial({ key }), ...overrides } } };
}

export function versionCompare(key: string, operator: kvV1.CompareOperator, version: bigint): kvV1.Compare {
  return kvV1.Compare.fromPartial({ key, target: kvV1.CompareTarget.COMPARE_TARGET_VERSION, operator, version });
}

export function valueCompare(key: string, operator: kvV1.CompareOperator, value: string | Uint8Array): kvV1.Compare {
  const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value);
  return kvV1.Compare.fromPartial({ key, target: kvV1.CompareTarget.COMPARE_TARGET_VALUE, operator, value: bytes });
}

export function responseHeader(sequence = 7n): commonV1.ResponseHeader {
  return { memberId: 'r1', epoch: 3n, ballot: undefined, revision: 0n, sequence, groupId: testGroupId };
}

// shard.v1 writes -> the Command the group log stores. Everything is checked
// here, before the write enters the log, with the limits the group's
// KvState applies with: a request accepted here is never refused by
// KvState.apply for its form (invalid-argument), so the only refusals left
// to the state machine are those that depend on the state (a stale fence
// token, the byte and fence-name bounds). Fields are named as a user of the
// proto sees them: `request.fence.lock_name`, `request.success[2].put.key`.
import { type commonV1, kvV1, type shardV1 } from '@bulwark/contracts';
import { InvalidArgumentError } from '@bulwark/errors';
import { type Command, type Compare, type Fence, type KvLimits, type Op, requestIdBytesMax } from '@bulwark/kv-state';
import { checkBytes, checkText, isUint64 } from './text';

/** When the write is acknowledged; undefined uses the group's configured mode (DURABILITY_UNSPECIFIED). */
export type WriteDurability = 'sync' | 'async' | undefined;

/** A checked write: the command to append to the group log and when to acknowledge it. */
export interface WriteCommand {
  readonly command: Command;
  readonly durability: WriteDurability;
}

/** A Put as the command to append; throws InvalidArgumentError naming the first bad field. */
export function putCommand(message: shardV1.PutRequest, limits: KvLimits, nowUnixMs: bigint): WriteCommand {
  const writtenUnixMs = checkStamp(nowUnixMs);
  const request = innerRequest(message);
  const key = checkKey(request.key, 'request.key', limits);
  const value = checkBytes(request.value, 'request.value', limits.valueBytesMax, 'valueBytesMax');
  const expectedVersion = checkExpectedVersion(request.expectedVersion, 'request.expected_version');
  const op: Op = { type: 'put', key, value, ...(expectedVersion === undefined ? {} : { expectedVersion }) };
  return write(request, limits, writtenUnixMs, { type: 'op', op });
}

/** A Delete as the command to append; throws InvalidArgumentError naming the first bad field. */
export function deleteCommand(message: shardV1.DeleteRequest, limits: KvLimits, nowUnixMs: bigint): WriteCommand {
  const writtenUnixMs = checkStamp(nowUnixMs);
  const request = innerRequest(message);
  const key = checkKey(request.key, 'request.key', limits);
  const expectedVersion = checkExpectedVersion(request.expectedVersion, 'request.expected_version');
  const op: Op = { type: 'delete', key, ...(expectedVersion === undefined ? {} : { expectedVersion }) };
  return write(request, limits, writtenUnixMs, { type: 'op', op });
}

/** A Txn as the command to append; throws InvalidArgumentError naming the first bad field. */
export function txnCommand(message: shardV1.TxnRequest, limits: KvLimits, nowUnixMs: bigint): WriteCommand {
  const writtenUnixMs = checkStamp(nowUnixMs);
  const request = innerRequest(message);
  const compares = checkList(request.compares, 'request.compares', limits).map((compare, index) =>
    checkCompare(compare, `request.compares[${index}]`, limits),
  );
  const success = checkBranch(request.success, 'request.success', limits);
  const failure = checkBranch(request.failure, 'request.failure', limits);
  return write(request, limits, writtenUnixMs, { type: 'txn', compares, success, failure });
}

interface WriteFields {
  readonly durability: kvV1.Durability;
  readonly fence: commonV1.Fence | undefined;
  readonly requestId: string;
}

function write(request: WriteFields, limits: KvLimits, writtenUnixMs: bigint, body: Command['body']): WriteCommand {
  const durability = checkDurability(request.durability, 'request.durability');
  const fence = checkFence(request.fence, 'request.fence', limits);
  const requestId = checkText(request.requestId, 'request.request_id', requestIdBytesMax, 'its limit', true);
  const command: Command = { requestId, writtenUnixMs, ...(fence ? { fence } : {}), body };
  return { command, durability };
}

function innerRequest<T>(message: { request?: T | undefined } | undefined): T {
  const request = message?.request;
  if (request === undefined || request === null) throw new InvalidArgumentError('request', 'must be set');
  return request;
}

/** The primary's clock stamp: a caller's bug if not a uint64, so a RangeError, not the client's fault. */
function checkStamp(nowUnixMs: bigint): bigint {
  if (!isUint64(nowUnixMs)) throw new RangeError(`nowUnixMs must be a bigint from 0 to 2^64-1, got ${nowUnixMs}`);
  return nowUnixMs;
}

function checkKey(key: unknown, field: string, limits: KvLimits): string {
  return checkText(key, field, limits.keyBytesMax, 'keyBytesMax');
}

function checkExpectedVersion(version: unknown, field: string): bigint | undefined {
  if (version === undefined || version === null) return undefined;
  if (!isUint64(version)) throw new InvalidArgumentError(field, 'must be a 64-bit unsigned integer');
  return version;
}

function checkDurability(durability: kvV1.Durability, field: string): WriteDurability {
  switch (durability) {
    case kvV1.Durability.DURABILITY_UNSPECIFIED:
      return undefined;
    case kvV1.Durability.DURABILITY_SYNC:
      return 'sync';
    case kvV1.Durability.DURABILITY_ASYNC:
      return 'async';
    default:
      throw new InvalidArgumentError(field, `has unknown value ${String(durability)}`);
  }
}

function checkFence(fence: commonV1.Fence | undefined, field: string, limits: KvLimits): Fence | undefined {
  if (fence === undefined || fence === null) return undefined;
  const lockName = checkText(fence.lockName, `${field}.lock_name`, limits.lockNameBytesMax, 'lockNameBytesMax');
  if (!isUint64(fence.token)) throw new InvalidArgumentError(`${field}.token`, 'must be a 64-bit unsigned integer');
  if (fence.token === 0n) {
    throw new InvalidArgumentError(
      `${field}.token`,
      'must be above 0 (0 is no lock grant; pass the token Acquire gave)',
    );
  }
  return { lockName, token: fence.token };
}

function checkList<T>(list: readonly T[], field: string, limits: KvLimits): readonly T[] {
  if (!Array.isArray(list)) throw new InvalidArgumentError(field, 'must be a list');
  if (list.length > limits.txnOpsMax) {
    throw new InvalidArgumentError(field, `has ${list.length} entries, over txnOpsMax ${limits.txnOpsMax}`);
  }
  return list;
}

function checkCompare(compare: kvV1.Compare, field: string, limits: KvLimits): Compare {
  if (typeof compare !== 'object' || compare === null) throw new InvalidArgumentError(field, 'must be set');
  const key = checkKey(compare.key, `${field}.key`, limits);
  switch (compare.target) {
    case kvV1.CompareTarget.COMPARE_TARGET_VERSION: {
      const op = versionOperator(compare.operator, `${field}.operator`);
      const version = compare.version;
      if (!isUint64(version)) throw new InvalidArgumentError(`${field}.version`, 'must be a 64-bit unsigned integer');
      return { key, target: 'version', op, version };
    }
    case kvV1.CompareTarget.COMPARE_TARGET_VALUE: {
      const op = valueOperator(compare.operator, `${field}.operator`);
      const value = checkBytes(compare.value, `${field}.value`, limits.valueBytesMax, 'valueBytesMax');
      return { key, target: 'value', op, value };
    }
    default:
      throw new InvalidArgumentError(
        `${field}.target`,
        `must be COMPARE_TARGET_VERSION or COMPARE_TARGET_VALUE, got ${String(compare.target)}`,
      );
  }
}

function versionOperator(operator: kvV1.CompareOperator, field: string): 'eq' | 'ne' | 'lt' | 'gt' {
  switch (operator) {
    case kvV1.CompareOperator.COMPARE_OPERATOR_EQUAL:
      return 'eq';
    case kvV1.CompareOperator.COMPARE_OPERATOR_NOT_EQUAL:
      return 'ne';
    case kvV1.CompareOperator.COMPARE_OPERATOR_LESS:
      return 'lt';
    case kvV1.CompareOperator.COMPARE_OPERATOR_GREATER:
      return 'gt';
    default:
      throw new InvalidArgumentError(field, `must be EQUAL, NOT_EQUAL, LESS or GREATER, got ${String(operator)}`);
  }
}

function valueOperator(operator: kvV1.CompareOperator, field: string): 'eq' | 'ne' {
  switch (operator) {
    case kvV1.CompareOperator.COMPARE_OPERATOR_EQUAL:
      return 'eq';
    case kvV1.CompareOperator.COMPARE_OPERATOR_NOT_EQUAL:
      return 'ne';
    case kvV1.CompareOperator.COMPARE_OPERATOR_LESS:
    case kvV1.CompareOperator.COMPARE_OPERATOR_GREATER:
      throw new InvalidArgumentError(
        field,
        'must be EQUAL or NOT_EQUAL for a value compare (LESS and GREATER compare versions)',
      );
    default:
      throw new InvalidArgumentError(field, `must be EQUAL or NOT_EQUAL, got ${String(operator)}`);
  }
}

/** A branch's ops: each a put or a delete, no key twice, none with its own condition, fence, id or durability. */
function checkBranch(ops: readonly kvV1.TxnOp[], field: string, limits: KvLimits): Op[] {
  const firstIndex = new Map<string, number>();
  return checkList(ops, field, limits).map((txnOp, index) => {
    const path = `${field}[${index}]`;
    const choice = typeof txnOp === 'object' && txnOp !== null ? txnOp.op : undefined;
    let op: Op;
    let keyField: string;
    switch (choice?.$case) {
      case 'put': {
        keyField = `${path}.put.key`;
        const key = checkKey(choice.put.key, keyField, limits);
        const value = checkBytes(choice.put.value, `${path}.put.value`, limits.valueBytesMax, 'valueBytesMax');
        checkNoOwnFields(choice.put, `${path}.put`);
        op = { type: 'put', key, value };
        break;
      }
      case 'delete': {
        keyField = `${path}.delete.key`;
        const key = checkKey(choice.delete.key, keyField, limits);
        checkNoOwnFields(choice.delete, `${path}.delete`);
        op = { type: 'delete', key };
        break;
      }
      default:
        throw new InvalidArgumentError(`${path}.op`, 'must be a put or a delete');
    }
    const earlier = firstIndex.get(op.key);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(keyField, `is written by an earlier op of the branch (${field}[${earlier}])`);
    }
    firstIndex.set(op.key, index);
    return op;
  });
}

/** An op of a transaction takes its condition, fence, id and durability from the transaction, never its own. */
function checkNoOwnFields(op: kvV1.PutRequest | kvV1.DeleteRequest, field: string): void {
  if (op.expectedVersion !== undefined && op.expectedVersion !== null) {
    throw new InvalidArgumentError(
      `${field}.expected_version`,
      'is not allowed in a transaction: put the condition in its compares',
    );
  }
  if (op.durability !== kvV1.Durability.DURABILITY_UNSPECIFIED) {
    throw new InvalidArgumentError(
      `${field}.durability`,
      'is not allowed in a transaction op: set it on the transaction',
    );
  }
  if (op.fence !== undefined && op.fence !== null) {
    throw new InvalidArgumentError(`${field}.fence`, 'is not allowed in a transaction op: set it on the transaction');
  }
  if (op.requestId !== '') {
    throw new InvalidArgumentError(
      `${field}.request_id`,
      'is not allowed in a transaction op: set it on the transaction',
    );
  }
}

// The form of a command, checked before it touches the state: every field
// for type, range and size, in a fixed order, so every member refuses the
// same entry with the same field and message. Callers check earlier too,
// but a committed entry is applied whatever it holds: a throw here would
// stop every member at the same sequence, and a refusal that depended on
// anything but the entry and the limits would make members diverge.
import { utf8Length } from './keys';
import { type KvLimits, requestIdBytesMax, uint64Max } from './limits';
import { refused } from './outcomes';
import type { Command, Compare, Op, RefusedOutcome } from './types';

export function isUint64(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= uint64Max;
}

function invalid(field: string, message: string): RefusedOutcome {
  return refused('invalid-argument', field, message);
}

/** A text field of 1 (0 if `emptyAllowed`) to `bytesMax` bytes of UTF-8, well-formed. */
function checkText(value: unknown, field: string, bytesMax: number, limitName: string, emptyAllowed = false) {
  if (typeof value !== 'string') return invalid(field, 'must be a string');
  if (value === '' && !emptyAllowed) return invalid(field, 'must not be empty');
  const bytes = utf8Length(value);
  if (bytes < 0) return invalid(field, 'must be well-formed UTF-16 (it holds a lone surrogate)');
  if (bytes > bytesMax) return invalid(field, `is ${bytes} bytes of UTF-8, over ${limitName} ${bytesMax}`);
  return undefined;
}

function checkBytes(value: unknown, field: string, limits: KvLimits) {
  if (!(value instanceof Uint8Array)) return invalid(field, 'must be a Uint8Array');
  if (value.length > limits.valueBytesMax) {
    return invalid(field, `is ${value.length} bytes, over valueBytesMax ${limits.valueBytesMax}`);
  }
  return undefined;
}

/** A request id: '' for none, else at most 128 bytes of well-formed UTF-8. Checked before the dedupe table is asked. */
export function checkRequestId(requestId: unknown): RefusedOutcome | undefined {
  return checkText(requestId, 'request_id', requestIdBytesMax, 'its limit', true);
}

/** Everything but the request id, which is checked first. */
export function checkCommand(command: Command, limits: KvLimits): RefusedOutcome | undefined {
  if (!isUint64(command.writtenUnixMs)) return invalid('written_unix_ms', 'must be a bigint from 0 to 2^64-1');
  const fence: unknown = command.fence;
  if (fence !== undefined) {
    if (typeof fence !== 'object' || fence === null) return invalid('fence', 'must be an object when set');
    const { lockName, token } = fence as { lockName: unknown; token: unknown };
    const nameError = checkText(lockName, 'fence.lock_name', limits.lockNameBytesMax, 'lockNameBytesMax');
    if (nameError) return nameError;
    if (!isUint64(token)) return invalid('fence.token', 'must be a bigint from 0 to 2^64-1');
  }
  const body: unknown = command.body;
  if (typeof body !== 'object' || body === null) return invalid('body', 'must be an object');
  const { type } = body as { type: unknown };
  if (type === 'noop') return undefined;
  if (type === 'op') return checkOp((body as { op: unknown }).op, '', limits, true);
  if (type === 'txn') return checkTxn(body as Record<string, unknown>, limits);
  return invalid('body', "must be of type 'op', 'txn' or 'noop'");
}

/** `path` is '' for a single op (fields named as in PutRequest) or the op's place in a transaction. */
function checkOp(op: unknown, path: string, limits: KvLimits, expectedVersionAllowed: boolean) {
  const field = (name: string) => (path === '' ? name : `${path}.${name}`);
  if (typeof op !== 'object' || op === null) return invalid(path || 'op', 'must be an object');
  const { type, key, value, expectedVersion } = op as Record<string, unknown>;
  if (type !== 'put' && type !== 'delete') return invalid(field('type'), "must be 'put' or 'delete'");
  const keyError = checkText(key, field('key'), limits.keyBytesMax, 'keyBytesMax');
  if (keyError) return keyError;
  if (type === 'put') {
    const valueError = checkBytes(value, field('value'), limits);
    if (valueError) return valueError;
  }
  if (expectedVersion !== undefined) {
    if (!expectedVersionAllowed) {
      return invalid(field('expected_version'), 'is not allowed in a transaction: put the condition in its compares');
    }
    if (!isUint64(expectedVersion)) return invalid(field('expected_version'), 'must be a bigint from 0 to 2^64-1');
  }
  return undefined;
}

function checkTxn(body: Record<string, unknown>, limits: KvLimits) {
  const { compares, success, failure } = body;
  for (const [name, list] of [
    ['compares', compares],
    ['success', success],
    ['failure', failure],
  ] as const) {
    if (!Array.isArray(list)) return invalid(`txn.${name}`, 'must be an array');
    if (list.length > limits.txnOpsMax) {
      return invalid(`txn.${name}`, `has ${list.length} entries, over txnOpsMax ${limits.txnOpsMax}`);
    }
  }
  const compareList = compares as unknown[];
  for (let index = 0; index < compareList.length; index++) {
    const error = checkCompare(compareList[index], `txn.compares[${index}]`, limits);
    if (error) return error;
  }
  for (const [name, ops] of [
    ['success', success as unknown[]],
    ['failure', failure as unknown[]],
  ] as const) {
    const keys = new Set<string>();
    for (let index = 0; index < ops.length; index++) {
      const path = `txn.${name}[${index}]`;
      const error = checkOp(ops[index], path, limits, false);
      if (error) return error;
      const { key } = ops[index] as Op;
      if (keys.has(key)) return invalid(`${path}.key`, 'is written by an earlier op of the same branch');
      keys.add(key);
    }
  }
  return undefined;
}

function checkCompare(compare: unknown, prefix: string, limits: KvLimits) {
  if (typeof compare !== 'object' || compare === null) return invalid(prefix, 'must be an object');
  const { key, target, op } = compare as Record<string, unknown>;
  const keyError = checkText(key, `${prefix}.key`, limits.keyBytesMax, 'keyBytesMax');
  if (keyError) return keyError;
  if (target === 'version') {
    if (op !== 'eq' && op !== 'ne' && op !== 'lt' && op !== 'gt') {
      return invalid(`${prefix}.op`, "must be 'eq', 'ne', 'lt' or 'gt' for a version");
    }
    if (!isUint64((compare as Compare & { target: 'version' }).version)) {
      return invalid(`${prefix}.version`, 'must be a bigint from 0 to 2^64-1');
    }
    return undefined;
  }
  if (target === 'value') {
    if (op !== 'eq' && op !== 'ne') return invalid(`${prefix}.op`, "must be 'eq' or 'ne' for a value");
    return checkBytes((compare as Compare & { target: 'value' }).value, `${prefix}.value`, limits);
  }
  return invalid(`${prefix}.target`, "must be 'version' or 'value'");
}

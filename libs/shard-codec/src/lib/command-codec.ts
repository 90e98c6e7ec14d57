// A kv-state Command <-> the bytes of a replication.v1.Command, as log
// entries carry it. Every member applies what it decodes (the primary too),
// so decoding must be deterministic, and it is strict: bytes are accepted
// only when they hold exactly the fields encodeCommand would write, each
// once and in its shortest form (checked by length: any unknown, repeated,
// default-valued or padded field, or trailing byte makes them longer),
// with well-formed UTF-8 (a lenient protobuf decoder reads invalid UTF-8 as
// U+FFFD) and the values our encoder uses. Only the order of fields is left
// free, which changes no meaning. A re-encode compared byte for byte would
// say the same and also fix the order, but costs twice the decode itself.
// The bytes come from our own disk or primary: a CommandDecodeError means
// corruption (the WAL's checksum is the first line against that).
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { kvV1, replicationV1, serializeMessage } from '@bulwark/contracts';
import type { Command, CommandBody, Compare, Op } from '@bulwark/kv-state';
import { utf8Length } from '@bulwark/kv-state';
import { bufferOf, isUint64, plainBytes } from './text';

/** Bytes that are not an encoded Command (corrupt log entry or message). */
export class CommandDecodeError extends Error {
  constructor(message: string) {
    super(`replication command: ${message}`);
    this.name = 'CommandDecodeError';
  }
}

/** The command an empty log entry stands for: a new primary's first entry of its epoch. */
export const emptyNoopCommand: Command = Object.freeze({
  requestId: '',
  writtenUnixMs: 0n,
  body: Object.freeze({ type: 'noop' as const }),
});

/**
 * The replication.v1.Command bytes of `command`, as a Buffer (what
 * LogEntry.command is typed as); a no-op without request id, stamp or
 * fence is the empty array. Throws RangeError on what has no exact
 * encoding (a lone surrogate in a string, a number outside uint64, an
 * unknown op): decoding would give another command than the one applied.
 */
export function encodeCommand(command: Command): Buffer {
  return serializeMessage(replicationV1.Command, toMessage(command));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const decodeStrictUtf8 = (bytes: Uint8Array) => strictUtf8.decode(bytes);

/** The Command in `bytes`; the empty array is the no-op. Throws CommandDecodeError on bytes encodeCommand would not write. */
export function decodeCommand(bytes: Uint8Array): Command {
  if (!(bytes instanceof Uint8Array)) throw new CommandDecodeError('expected a Uint8Array');
  if (bytes.length === 0) return emptyNoopCommand;
  let message: replicationV1.Command;
  try {
    message = replicationV1.Command.decode(new BinaryReader(bytes, decodeStrictUtf8));
  } catch (error) {
    throw new CommandDecodeError(`${bytes.length} bytes are not a protobuf message: ${(error as Error).message}`);
  }
  const command = fromMessage(message);
  const canonicalBytes = encodedCommandBytes(command);
  if (canonicalBytes !== bytes.length) {
    throw new CommandDecodeError(
      `${bytes.length} bytes hold what encodeCommand writes in ${canonicalBytes} (unknown, repeated, default-valued or padded fields, or trailing bytes)`,
    );
  }
  return command;
}

/** How many bytes encodeCommand writes for `command` (ts-proto's rules: proto3 defaults left out, oneof members always written). */
export function encodedCommandBytes(command: Command): number {
  const { requestId, writtenUnixMs, fence, body } = command;
  let bytes = textField(requestId) + uint64Field(writtenUnixMs);
  if (fence) bytes += messageField(textField(fence.lockName) + uint64Field(fence.token));
  switch (body.type) {
    case 'noop':
      return bytes;
    case 'op':
      return bytes + messageField(writeOpBytes(body.op));
    case 'txn': {
      let txn = 0;
      for (const compare of body.compares) txn += messageField(compareBytes(compare));
      for (const op of body.success) txn += messageField(writeOpBytes(op));
      for (const op of body.failure) txn += messageField(writeOpBytes(op));
      return bytes + messageField(txn);
    }
  }
}

function writeOpBytes(op: Op): number {
  // put_value is written even when empty (a oneof member); delete is the one byte `true`.
  const choice = op.type === 'put' ? 1 + lengthPrefixed(op.value.length) : 2;
  return textField(op.key) + choice + (op.expectedVersion === undefined ? 0 : 1 + varintBytes(op.expectedVersion));
}

function compareBytes(compare: Compare): number {
  // target and operator are 1 to 4: one byte each after their tag.
  const operand = compare.target === 'version' ? uint64Field(compare.version) : bytesField(compare.value.length);
  return textField(compare.key) + 2 + 2 + operand;
}

/** Every field number here is below 16: one tag byte. */
function textField(text: string): number {
  return text === '' ? 0 : 1 + lengthPrefixed(utf8Length(text));
}

function bytesField(length: number): number {
  return length === 0 ? 0 : 1 + lengthPrefixed(length);
}

function uint64Field(value: bigint): number {
  return value === 0n ? 0 : 1 + varintBytes(value);
}

function messageField(length: number): number {
  return 1 + lengthPrefixed(length);
}

function lengthPrefixed(length: number): number {
  return varintBytes(length) + length;
}

function varintBytes(value: number | bigint): number {
  let bytes = 1;
  if (typeof value === 'number') {
    for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
    return bytes;
  }
  for (let rest = value; rest >= 0x80n; rest >>= 7n) bytes++;
  return bytes;
}

function toMessage(command: Command): replicationV1.Command {
  const { fence, body } = command;
  return {
    requestId: text(command.requestId, 'requestId'),
    writtenUnixMs: uint64(command.writtenUnixMs, 'writtenUnixMs'),
    fence: fence
      ? { lockName: text(fence.lockName, 'fence.lockName'), token: uint64(fence.token, 'fence.token') }
      : undefined,
    body: toBody(body),
  };
}

function toBody(body: CommandBody): replicationV1.Command['body'] {
  switch (body.type) {
    case 'noop':
      return undefined;
    case 'op':
      return { $case: 'op', op: toWriteOp(body.op, 'op') };
    case 'txn':
      return {
        $case: 'txn',
        txn: {
          compares: body.compares.map((compare, index) => toCompare(compare, `txn.compares[${index}]`)),
          success: body.success.map((op, index) => toWriteOp(op, `txn.success[${index}]`)),
          failure: body.failure.map((op, index) => toWriteOp(op, `txn.failure[${index}]`)),
        },
      };
    default:
      throw new RangeError(`cannot encode a body of type ${String((body as { type: unknown }).type)}`);
  }
}

function toWriteOp(op: Op, path: string): replicationV1.WriteOp {
  const key = text(op.key, `${path}.key`);
  const expectedVersion =
    op.expectedVersion === undefined ? undefined : uint64(op.expectedVersion, `${path}.expectedVersion`);
  switch (op.type) {
    case 'put':
      return { key, op: { $case: 'putValue', putValue: bufferOf(bytes(op.value, `${path}.value`)) }, expectedVersion };
    case 'delete':
      return { key, op: { $case: 'delete', delete: true }, expectedVersion };
    default:
      throw new RangeError(`cannot encode ${path} of type ${String((op as { type: unknown }).type)}`);
  }
}

const noBytes = Buffer.alloc(0);
const operatorByOp = {
  eq: kvV1.CompareOperator.COMPARE_OPERATOR_EQUAL,
  ne: kvV1.CompareOperator.COMPARE_OPERATOR_NOT_EQUAL,
  lt: kvV1.CompareOperator.COMPARE_OPERATOR_LESS,
  gt: kvV1.CompareOperator.COMPARE_OPERATOR_GREATER,
} as const;

function toCompare(compare: Compare, path: string): kvV1.Compare {
  const key = text(compare.key, `${path}.key`);
  const operator = Object.hasOwn(operatorByOp, compare.op) ? operatorByOp[compare.op] : undefined;
  if (compare.target === 'version' && operator !== undefined) {
    const version = uint64(compare.version, `${path}.version`);
    return { key, target: kvV1.CompareTarget.COMPARE_TARGET_VERSION, operator, version, value: noBytes };
  }
  if (compare.target === 'value' && (compare.op === 'eq' || compare.op === 'ne')) {
    const value = bufferOf(bytes(compare.value, `${path}.value`));
    return {
      key,
      target: kvV1.CompareTarget.COMPARE_TARGET_VALUE,
      operator: operatorByOp[compare.op],
      version: 0n,
      value,
    };
  }
  throw new RangeError(`cannot encode ${path}: target ${String(compare.target)} with op ${String(compare.op)}`);
}

function text(value: string, what: string): string {
  if (typeof value !== 'string' || utf8Length(value) < 0) {
    throw new RangeError(`cannot encode ${what}: not a well-formed string (a lone surrogate has no exact UTF-8 form)`);
  }
  return value;
}

function uint64(value: bigint, what: string): bigint {
  if (!isUint64(value))
    throw new RangeError(`cannot encode ${what}: ${String(value)} is not a bigint from 0 to 2^64-1`);
  return value;
}

function bytes(value: Uint8Array, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new RangeError(`cannot encode ${what}: not a Uint8Array`);
  return value;
}

function fromMessage(message: replicationV1.Command): Command {
  const { requestId, writtenUnixMs, fence, body } = message;
  return {
    requestId,
    writtenUnixMs,
    ...(fence ? { fence: { lockName: fence.lockName, token: fence.token } } : {}),
    body: fromBody(body),
  };
}

function fromBody(body: replicationV1.Command['body']): CommandBody {
  switch (body?.$case) {
    case undefined:
      return { type: 'noop' };
    case 'op':
      return { type: 'op', op: fromWriteOp(body.op, 'op') };
    case 'txn':
      return {
        type: 'txn',
        compares: body.txn.compares.map((compare, index) => fromCompare(compare, `txn.compares[${index}]`)),
        success: body.txn.success.map((op, index) => fromWriteOp(op, `txn.success[${index}]`)),
        failure: body.txn.failure.map((op, index) => fromWriteOp(op, `txn.failure[${index}]`)),
      };
  }
}

function fromWriteOp(op: replicationV1.WriteOp, path: string): Op {
  const { key, expectedVersion } = op;
  const expected = expectedVersion === undefined ? {} : { expectedVersion };
  switch (op.op?.$case) {
    case 'putValue':
      return { type: 'put', key, value: plainBytes(op.op.putValue), ...expected };
    case 'delete':
      // encodeCommand writes `true`; anything else is not its output.
      if (op.op.delete !== true) throw new CommandDecodeError(`${path} has delete = false`);
      return { type: 'delete', key, ...expected };
    default:
      throw new CommandDecodeError(`${path} has neither put_value nor delete`);
  }
}

function fromCompare(compare: kvV1.Compare, path: string): Compare {
  const { key, target, operator } = compare;
  const op = (Object.keys(operatorByOp) as (keyof typeof operatorByOp)[]).find(
    (name) => operatorByOp[name] === operator,
  );
  if (target === kvV1.CompareTarget.COMPARE_TARGET_VERSION && op !== undefined) {
    return { key, target: 'version', op, version: compare.version };
  }
  if (target === kvV1.CompareTarget.COMPARE_TARGET_VALUE && (op === 'eq' || op === 'ne')) {
    return { key, target: 'value', op, value: plainBytes(compare.value) };
  }
  throw new CommandDecodeError(`${path} has target ${String(target)} with operator ${String(operator)}`);
}

// Commands for tests and simulations, written the way a reader thinks of
// them: put('a', 'x'), del('a', { expectedVersion: 2n }), txn(...).
import type { Command, CommandBody, Compare, Fence, Op } from '../lib/types';

const utf8 = new TextEncoder();

/** Bytes of a string, for values in tests. */
export function bytes(text: string): Uint8Array {
  return utf8.encode(text);
}

export interface CommandOptions {
  readonly requestId?: string;
  readonly fence?: Fence;
  readonly writtenUnixMs?: bigint;
}

export function command(body: CommandBody, options: CommandOptions = {}): Command {
  return {
    requestId: options.requestId ?? '',
    writtenUnixMs: options.writtenUnixMs ?? 1_700_000_000_000n,
    ...(options.fence ? { fence: options.fence } : {}),
    body,
  };
}

export function putOp(key: string, value: string | Uint8Array, expectedVersion?: bigint): Op {
  return {
    type: 'put',
    key,
    value: typeof value === 'string' ? bytes(value) : value,
    ...(expectedVersion === undefined ? {} : { expectedVersion }),
  };
}

export function deleteOp(key: string, expectedVersion?: bigint): Op {
  return { type: 'delete', key, ...(expectedVersion === undefined ? {} : { expectedVersion }) };
}

export function put(
  key: string,
  value: string | Uint8Array,
  options: CommandOptions & { expectedVersion?: bigint } = {},
): Command {
  return command({ type: 'op', op: putOp(key, value, options.expectedVersion) }, options);
}

export function del(key: string, options: CommandOptions & { expectedVersion?: bigint } = {}): Command {
  return command({ type: 'op', op: deleteOp(key, options.expectedVersion) }, options);
}

export function txn(compares: Compare[], success: Op[], failure: Op[] = [], options: CommandOptions = {}): Command {
  return command({ type: 'txn', compares, success, failure }, options);
}

export function noop(options: CommandOptions = {}): Command {
  return command({ type: 'noop' }, options);
}

export function versionIs(key: string, op: 'eq' | 'ne' | 'lt' | 'gt', version: bigint): Compare {
  return { key, target: 'version', op, version };
}

export function valueIs(key: string, op: 'eq' | 'ne', value: string | Uint8Array): Compare {
  return { key, target: 'value', op, value: typeof value === 'string' ? bytes(value) : value };
}

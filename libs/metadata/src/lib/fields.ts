// Checks of single command fields. Each throws InvalidArgumentError naming
// the request field as coordinator.v1 spells it; apply() turns the throw into
// a rejected result. Commands come from decoded protobufs, so the runtime
// types are checked too: a number where a bigint belongs must be rejected
// before it reaches the replicated state.
import { InvalidArgumentError } from '@bulwark/errors';
import { addressLengthMax, idLengthMax, leaseMsMax, requestIdLengthMax } from './limits';
import { memberRoles, replicationModes, type MemberRole, type ReplicationMode } from './types';

const idPattern = new RegExp(`^[a-z0-9][a-z0-9-]{0,${idLengthMax - 1}}$`);
const dnsLabel = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const hostnamePattern = new RegExp(`^${dnsLabel}(?:\\.${dnsLabel})*$`);
const hostnameLengthMax = 253;
const bracketedIpv6Pattern = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
const portPattern = /^[1-9][0-9]{0,4}$/;
const portMax = 65_535;
const uint64Max = (1n << 64n) - 1n;
const requestIdPattern = new RegExp(`^[\\x21-\\x7e]{1,${requestIdLengthMax}}$`);
const fingerprintPattern = /^[0-9a-f]{64}$/;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && idPattern.test(value);
}

export function checkId(value: unknown, field: string): string {
  if (!isValidId(value)) {
    throw new InvalidArgumentError(
      field,
      `must be 1 to ${idLengthMax} characters of [a-z0-9-] starting with a-z or 0-9`,
    );
  }
  return value;
}

/** host:port with a DNS name, an IPv4 address or a bracketed IPv6 address, and a port from 1 to 65535. */
export function checkAddress(value: unknown, field: string): string {
  const problem = 'must be host:port (a DNS name, IPv4 or [IPv6] address, and a port from 1 to 65535)';
  if (typeof value !== 'string' || value.length > addressLengthMax) throw new InvalidArgumentError(field, problem);
  const colon = value.lastIndexOf(':');
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  const hostValid = host.startsWith('[')
    ? bracketedIpv6Pattern.test(host) && host.includes(':')
    : host.length <= hostnameLengthMax && hostnamePattern.test(host);
  if (colon < 0 || !hostValid || !portPattern.test(port) || Number(port) > portMax) {
    throw new InvalidArgumentError(field, problem);
  }
  return value;
}

export function checkRole(value: unknown, field: string): MemberRole {
  const role = memberRoles.find((known) => known === value);
  if (role === undefined) throw new InvalidArgumentError(field, `must be one of ${memberRoles.join(', ')}`);
  return role;
}

export function checkMode(value: unknown, field: string): ReplicationMode {
  const mode = replicationModes.find((known) => known === value);
  if (mode === undefined) throw new InvalidArgumentError(field, `must be one of ${replicationModes.join(', ')}`);
  return mode;
}

export function checkUint64(value: unknown, field: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > uint64Max) {
    throw new InvalidArgumentError(field, 'must be an unsigned 64-bit integer (bigint)');
  }
  return value;
}

export function checkLeaseMs(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > leaseMsMax) {
    throw new InvalidArgumentError(field, `must be an integer from 1 to leaseMsMax ${leaseMsMax}`);
  }
  return value;
}

/**
 * A list of distinct member ids, minLength to maxLength long (the length is
 * checked first, so a huge list costs nothing). Elements are named
 * `field[i]`.
 */
export function checkDistinctIds(
  values: readonly unknown[],
  field: string,
  minLength: number,
  maxLength: number,
): readonly string[] {
  if (!Array.isArray(values) || values.length < minLength || values.length > maxLength) {
    throw new InvalidArgumentError(field, `must list ${minLength} to ${maxLength} member ids`);
  }
  const indexById = new Map<string, number>();
  values.forEach((value, index) => {
    const id = checkId(value, `${field}[${index}]`);
    const earlier = indexById.get(id);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(`${field}[${index}]`, `duplicates ${field}[${earlier}] '${id}'`);
    }
    indexById.set(id, index);
  });
  return values as readonly string[];
}

/** A caller's request_id: 1 to requestIdLengthMax printable ASCII characters without spaces. */
export function checkRequestId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !requestIdPattern.test(value)) {
    throw new InvalidArgumentError(
      field,
      `must be 1 to ${requestIdLengthMax} printable ASCII characters without spaces (0x21-0x7E)`,
    );
  }
  return value;
}

/** A request fingerprint: a SHA-256 as 64 lowercase hex digits. */
export function checkFingerprint(value: unknown, field: string): string {
  if (typeof value !== 'string' || !fingerprintPattern.test(value)) {
    throw new InvalidArgumentError(field, 'must be a SHA-256 as 64 lowercase hex digits');
  }
  return value;
}

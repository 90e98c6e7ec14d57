// The arguments of the waiter queue, checked the same way by the quorum and
// by every server, and the one order of its entries.
import { InvalidArgumentError } from '@bulwark/errors';

/** Tickets are written as Redis sorted-set scores, which are doubles: exact only up to 2^53 - 1. */
export const ticketMax = 2n ** 53n - 1n;

/** A waiterId is at most this many UTF-8 bytes. */
export const waiterIdBytesMax = 200;

/** The longest lease a waiter's entry may be given at once. */
export const waiterLeaseMsMax = 3_600_000;

export function requireWaiterId(waiterId: string): void {
  if (waiterId.length === 0) throw new InvalidArgumentError('waiterId', 'must not be empty');
  const bytes = utf8Bytes(waiterId);
  // Redis keeps UTF-8 bytes: a lone surrogate would become U+FFFD there, and two waiters one.
  if (bytes === undefined) throw new InvalidArgumentError('waiterId', 'is not valid Unicode (a lone surrogate)');
  if (bytes > waiterIdBytesMax) {
    throw new InvalidArgumentError('waiterId', `is ${bytes} UTF-8 bytes, more than ${waiterIdBytesMax}`);
  }
}

export function requireTicket(ticket: bigint): void {
  if (ticket < 1n || ticket > ticketMax) throw new InvalidArgumentError('ticket', `must be from 1 to ${ticketMax}`);
}

export function requireWaiterLeaseMs(leaseMs: number): void {
  if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0 || leaseMs > waiterLeaseMsMax) {
    throw new InvalidArgumentError('leaseMs', `must be an integer from 1 to ${waiterLeaseMsMax}`);
  }
}

/**
 * The order of queue entries: by ticket, then by waiterId's UTF-8 bytes,
 * as Redis orders sorted-set members of equal score. Code point order is
 * UTF-8 byte order; UTF-16 code unit order (JavaScript's <) is not.
 */
export function compareWaiters(
  a: { readonly ticket: bigint; readonly waiterId: string },
  b: { readonly ticket: bigint; readonly waiterId: string },
): number {
  if (a.ticket !== b.ticket) return a.ticket < b.ticket ? -1 : 1;
  return compareCodePoints(a.waiterId, b.waiterId);
}

function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(j) as number;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}

/** The UTF-8 length of text, or undefined when it has a lone surrogate (not valid Unicode). */
function utf8Bytes(text: string): number | undefined {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit < 0xd800 || unit > 0xdfff) bytes += 3;
    else {
      const next = text.charCodeAt(index + 1);
      if (unit > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return undefined;
      bytes += 4;
      index++;
    }
  }
  return bytes;
}

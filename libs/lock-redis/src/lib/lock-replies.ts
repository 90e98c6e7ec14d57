// Reading the scripts' replies strictly: anything but the exact shapes the
// scripts return throws, so a confused server is reported as unavailable
// and never turns into a wrong answer.
import {
  isAttempt,
  type ServerEnqueued,
  type ServerGrant,
  type ServerHolder,
  type ServerLockState,
  type ServerQueue,
} from '@bulwark/lock-core';
import { decodeHolder, parseTicket, parseToken } from './lock-keys';

/** A reply the scripts cannot have produced. */
export class UnexpectedReplyError extends Error {}

export function parseInspectReply(reply: unknown): ServerLockState {
  const [fence, ticket, queue, holder] = arrayOf(reply, [4]);
  const holderParts = arrayOf(holder, [0, 2]);
  return {
    fence: fenceOf(fence),
    ticket: ticketOf(ticket, 'the ticket counter'),
    queue: queueOf(queue),
    holder: holderParts.length === 2 ? holderOf(holderParts[0], holderParts[1]) : undefined,
  };
}

export function parseGrantReply(reply: unknown): ServerGrant {
  const parts = arrayOf(reply, [1, 2, 3, 4]);
  const outcome = parts[0];
  if (outcome === 'granted' && parts.length === 1) return { outcome };
  if (outcome === 'stale' && parts.length === 2) return { outcome, fence: fenceOf(parts[1]) };
  if (outcome === 'queued' && parts.length === 3)
    return { outcome, fence: fenceOf(parts[1]), head: waiterOf(parts[2]) };
  if (outcome === 'held' && parts.length === 4) {
    return { outcome, fence: fenceOf(parts[1]), holder: holderOf(parts[2], parts[3]) };
  }
  throw new UnexpectedReplyError(`a grant reply must be granted, stale, queued or held with their fields`);
}

/** {'handed', token} when the claim holds the lock, {'stale', counter} to a join refused, else {ticket, head, held}. */
export function parseEnqueueReply(reply: unknown): ServerEnqueued {
  const parts = arrayOf(reply, [2, 3]);
  if (parts.length === 2) {
    if (parts[0] === 'handed') return { outcome: 'handed', token: fenceOf(parts[1]) };
    if (parts[0] === 'stale') return { outcome: 'stale', counter: ticketOf(parts[1], 'the ticket counter') };
    throw new UnexpectedReplyError('a two-part enqueue reply must be handed or stale');
  }
  const [ticket, head, held] = parts;
  const ticketHeld = ticketOf(ticket, "the waiter's ticket");
  if (ticketHeld === 0n) throw new UnexpectedReplyError("the waiter's ticket is 0");
  if (held !== 0 && held !== 1) throw new UnexpectedReplyError('held must be 0 or 1');
  return {
    outcome: 'queued',
    ticket: ticketHeld,
    head: waiterOf(head),
    held: held === 1,
  };
}

/** Release and leave answer 1 (done) or 0 (not the holder, not queued). */
export function parseDoneReply(reply: unknown): boolean {
  if (reply === 1) return true;
  if (reply === 0) return false;
  throw new UnexpectedReplyError('expected 0 or 1');
}

/** Refresh answers the holder's attempt (refreshed) or 0 (not the holder). */
export function parseRefreshReply(reply: unknown): string | undefined {
  if (reply === 0) return undefined;
  if (typeof reply === 'string' && isAttempt(reply)) return reply;
  throw new UnexpectedReplyError('expected an attempt or 0');
}

function arrayOf(reply: unknown, lengths: number[]): unknown[] {
  if (!Array.isArray(reply) || !lengths.includes(reply.length)) {
    throw new UnexpectedReplyError(`expected an array of ${lengths.join(', ')} elements`);
  }
  return reply;
}

function fenceOf(part: unknown): bigint {
  const fence = typeof part === 'string' ? parseToken(part) : undefined;
  if (fence === undefined) throw new UnexpectedReplyError('the fence is not a token');
  return fence;
}

function ticketOf(part: unknown, what: string): bigint {
  const ticket = typeof part === 'string' ? parseTicket(part) : undefined;
  if (ticket === undefined) throw new UnexpectedReplyError(`${what} is not a ticket`);
  return ticket;
}

/** {length} when nobody waits, {length, head} otherwise. */
function queueOf(part: unknown): ServerQueue {
  const [length, head] = arrayOf(part, [1, 2]);
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new UnexpectedReplyError('the queue length is not a count');
  }
  if ((length === 0) !== (head === undefined))
    throw new UnexpectedReplyError('a queue has a head exactly when not empty');
  return { head: head === undefined ? undefined : waiterOf(head), length };
}

function waiterOf(part: unknown): string {
  // Every waiter the scripts queue has a non-empty id.
  if (typeof part !== 'string' || part.length === 0) throw new UnexpectedReplyError('the waiter is not an id');
  return part;
}

function holderOf(value: unknown, pttl: unknown): ServerHolder {
  const holder = typeof value === 'string' ? decodeHolder(value) : undefined;
  if (!holder) throw new UnexpectedReplyError('the holder is not a token, an attempt and an owner');
  // A holder key without a TTL (-1) was not written by the grant script.
  if (typeof pttl !== 'number' || !Number.isSafeInteger(pttl) || pttl < 0) {
    throw new UnexpectedReplyError('the holder has no TTL');
  }
  return { owner: holder.owner, token: holder.token, attempt: holder.attempt, remainingTtlMs: pttl };
}

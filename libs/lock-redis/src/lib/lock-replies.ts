// Reading the scripts' replies strictly: anything but the exact shapes the
// scripts return throws, so a confused server is reported as unavailable
// and never turns into a wrong answer.
import type { ServerGrant, ServerHolder, ServerLockState } from '@bulwark/lock-core';
import { decodeHolder, parseToken } from './lock-keys';

/** A reply the scripts cannot have produced. */
export class UnexpectedReplyError extends Error {}

export function parseInspectReply(reply: unknown): ServerLockState {
  const parts = arrayOf(reply, [1, 3]);
  const fence = fenceOf(parts[0]);
  return { fence, holder: parts.length === 3 ? holderOf(parts[1], parts[2]) : undefined };
}

export function parseGrantReply(reply: unknown): ServerGrant {
  const parts = arrayOf(reply, [1, 2, 4]);
  const outcome = parts[0];
  if (outcome === 'granted' && parts.length === 1) return { outcome };
  if (outcome === 'stale' && parts.length === 2) return { outcome, fence: fenceOf(parts[1]) };
  if (outcome === 'held' && parts.length === 4) {
    return { outcome, fence: fenceOf(parts[1]), holder: holderOf(parts[2], parts[3]) };
  }
  throw new UnexpectedReplyError(`a grant reply must be granted, stale or held with their fields`);
}

/** Release and refresh answer 1 (done) or 0 (not the holder). */
export function parseDoneReply(reply: unknown): boolean {
  if (reply === 1) return true;
  if (reply === 0) return false;
  throw new UnexpectedReplyError('expected 0 or 1');
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

function holderOf(value: unknown, pttl: unknown): ServerHolder {
  const holder = typeof value === 'string' ? decodeHolder(value) : undefined;
  if (!holder) throw new UnexpectedReplyError('the holder is not a token and an owner');
  // A holder key without a TTL (-1) was not written by the grant script.
  if (typeof pttl !== 'number' || !Number.isSafeInteger(pttl) || pttl < 0) {
    throw new UnexpectedReplyError('the holder has no TTL');
  }
  return { owner: holder.owner, token: holder.token, remainingTtlMs: pttl };
}

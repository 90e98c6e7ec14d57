// The limits of lock.v1 requests, checked at the API so both backends refuse
// the same things with the same field names (the proto documents them).
import { InvalidArgumentError } from '@bulwark/errors';
import { isAttempt, tokenMax } from '@bulwark/lock-core';

export const lockLimits = {
  nameCharactersMax: 256,
  ownerCharactersMax: 128,
  ttlMsMin: 100,
  ttlMsMax: 3_600_000,
  waitTimeoutMsMax: 300_000,
} as const;

/** In a u-mode pattern a surrogate pair is one code point, so only a lone one matches. */
const loneSurrogate = /\p{Cs}/u;

/** A name or owner: 1 to max characters (code points), valid Unicode (Redis keeps UTF-8). */
function requireText(field: string, text: string, max: number): void {
  if (text.length === 0) throw new InvalidArgumentError(field, 'must not be empty');
  if (loneSurrogate.test(text)) throw new InvalidArgumentError(field, 'is not valid Unicode (a lone surrogate)');
  let characters = 0;
  for (const _ of text) {
    characters += 1;
    if (characters > max) throw new InvalidArgumentError(field, `must be at most ${max} characters`);
  }
}

export function requireName(name: string, field = 'name'): void {
  requireText(field, name, lockLimits.nameCharactersMax);
}

export function requireOwner(owner: string, field = 'owner'): void {
  requireText(field, owner, lockLimits.ownerCharactersMax);
}

export function requireTtl(ttlMs: number, field = 'ttl_ms'): void {
  if (!Number.isInteger(ttlMs) || ttlMs < lockLimits.ttlMsMin || ttlMs > lockLimits.ttlMsMax) {
    throw new InvalidArgumentError(field, `must be ${lockLimits.ttlMsMin} to ${lockLimits.ttlMsMax} ms, got ${ttlMs}`);
  }
}

export function requireWaitTimeout(waitTimeoutMs: number, field = 'wait_timeout_ms'): void {
  if (!Number.isInteger(waitTimeoutMs) || waitTimeoutMs < 0 || waitTimeoutMs > lockLimits.waitTimeoutMsMax) {
    throw new InvalidArgumentError(field, `must be 0 to ${lockLimits.waitTimeoutMsMax} ms, got ${waitTimeoutMs}`);
  }
}

/** A token a grant can have returned: grants start at 1. */
export function requireToken(token: bigint, field = 'token'): void {
  if (token < 1n || token > tokenMax) {
    throw new InvalidArgumentError(field, `must be a token a grant returned (1 or more), got ${token}`);
  }
}

/** A lease id a grant returned (its attempt), or empty for none. */
export function requireLeaseId(leaseId: string, field = 'lease_id'): void {
  if (leaseId !== '' && !isAttempt(leaseId)) {
    throw new InvalidArgumentError(
      field,
      'must be the lease_id a grant returned (1 to 64 of A-Z a-z 0-9 _ . -), or empty',
    );
  }
}

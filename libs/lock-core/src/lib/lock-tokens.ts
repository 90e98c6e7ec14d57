// Fencing tokens: uint64 in lock.v1 and in every server's fence, checked the
// same way by every backend.
import { InvalidArgumentError } from '@bulwark/errors';

/** The highest token a fence can hold. */
export const tokenMax = 2n ** 64n - 1n;

/** A token a server may be asked about: a uint64 (0 is no grant's, so every fence is at or above it). */
export function requireToken(token: bigint, field = 'token'): void {
  if (token < 0n || token > tokenMax) throw new InvalidArgumentError(field, `must be a uint64, from 0 to ${tokenMax}`);
}

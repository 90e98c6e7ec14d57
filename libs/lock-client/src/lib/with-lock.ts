// Runs a function under a lock: takes it over Hold, runs fn with the fencing
// token and the lock's signal, and always releases it. What withLock settles
// with is fn's own outcome, except that a lock lost while fn ran turns a
// success into the LockLostError (fn's effects may overlap another holder's;
// the caller must know). An error of fn is never masked by the release's.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { LockClient } from './lock-client';
import { LockLostError, LockNotAcquiredError } from './lock-errors';

export interface WithLockOptions {
  /** Identifies this holder; default hostname:pid:random, unique per call. */
  owner?: string;
  /** Lease length, renewed every third of it; default 10,000 ms. */
  ttlMs?: number;
  /** How long to wait for the lock; default 30,000 ms. */
  waitTimeoutMs?: number;
  /** Cancels the wait (rejects with CancelledError); fn's own cancellation is up to fn. */
  signal?: AbortSignal;
}

export interface Lease {
  /** The fencing token: pass it as the fence of every write made under the lock. */
  readonly token: bigint;
  /** Aborted, with a LockLostError naming the cause, when the lock may no longer be this holder's. */
  readonly signal: AbortSignal;
  /** Until when (performance.now() ms) the holder may act, as of now: renewals move it later. */
  readonly validUntilMs: () => number;
}

export const defaultWithLockTtlMs = 10_000;
export const defaultWithLockWaitTimeoutMs = 30_000;

/** host:pid:random, cut to the service's 128-character limit. */
export function defaultOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`.slice(-128);
}

/**
 * Runs fn while holding the lock `name`. Rejects with LockNotAcquiredError
 * (naming the holder) when the wait ends without the lock, with fn's error
 * when fn throws, and with LockLostError when the lock was lost before fn
 * settled; a release that fails after fn succeeded with the lock held is
 * logged, not thrown (the lease then lapses at its TTL).
 */
export async function withLock<T>(
  client: LockClient,
  name: string,
  fn: (lease: Lease) => Promise<T>,
  options: WithLockOptions = {},
): Promise<T> {
  const waitTimeoutMs = options.waitTimeoutMs ?? defaultWithLockWaitTimeoutMs;
  const attempt = await client.attemptHold(name, {
    owner: options.owner ?? defaultOwner(),
    ttlMs: options.ttlMs ?? defaultWithLockTtlMs,
    waitTimeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!attempt.acquired) throw new LockNotAcquiredError(name, waitTimeoutMs, attempt.holder);
  const lock = attempt.lock;

  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = {
      ok: true,
      value: await fn({ token: lock.token, signal: lock.signal, validUntilMs: () => lock.validUntilMs }),
    };
  } catch (error) {
    outcome = { ok: false, error };
  }
  // Judged before the release, which aborts the signal on purpose. The clock is read too: a process paused past the
  // deadline may finish fn before the expiry timer has had its turn.
  const lostWhileRunning = lock.signal.aborted
    ? lock.signal.reason
    : performance.now() >= lock.validUntilMs
      ? new LockLostError(name, lock.token, 'expired-locally', 'the validity deadline passed before fn settled')
      : undefined;

  try {
    await lock.release();
  } catch (releaseError) {
    if (outcome.ok && lostWhileRunning === undefined) {
      client.logger?.warn({ err: releaseError, lock: name }, 'lock release failed after the work was done');
    }
  }
  if (!outcome.ok) throw outcome.error;
  if (lostWhileRunning !== undefined) throw lostWhileRunning;
  return outcome.value;
}

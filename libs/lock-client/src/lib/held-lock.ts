// What hold() hands out: a lock held over a Hold stream, kept by renewals
// until released or lost (lock-holding.ts keeps it).
import type { LockHolder } from './lock-errors';

export interface HeldLock {
  readonly name: string;
  readonly owner: string;
  /** The fencing token of the grant: pass it as the fence of every write made under the lock. */
  readonly token: bigint;
  /**
   * Aborted the moment the lock may no longer be this holder's, with a
   * LockLostError naming the cause: a Lost event (its LossCause), the local
   * validity deadline passing without a renewal, or the stream failing with
   * no instance able to resume it before the deadline. Also aborted by
   * release() and by LockClient.close(). A timer cannot fire while the
   * event loop is blocked: right before acting, compare performance.now()
   * with validUntilMs too (and fence writes with the token).
   */
  readonly signal: AbortSignal;
  /** Local monotonic ms (performance.now()) until which the holder may act. */
  readonly validUntilMs: number;
  /**
   * Frees the lock. Resolves when the service confirms the release of a lock
   * that was this holder's until then; rejects with LockLostError when it
   * had been lost before (the work done under it may overlap another
   * holder's), or with the call's error when no instance could confirm it
   * (the lease is then left to expire). Idempotent.
   */
  release(): Promise<void>;
}

export interface HoldOptions {
  /** Identifies the holder, 1 to 128 characters. */
  readonly owner: string;
  /** Lease length, 100 to 3,600,000 ms; renewed every third of it. */
  readonly ttlMs: number;
  /** How long to wait for the lock, 0 to 300,000 ms. */
  readonly waitTimeoutMs: number;
  /** Cancels the wait (hold rejects with CancelledError); it does not release a lock already held. */
  readonly signal?: AbortSignal;
}

export type HoldAttempt =
  | { readonly acquired: true; readonly lock: HeldLock }
  | { readonly acquired: false; readonly holder: LockHolder | undefined };

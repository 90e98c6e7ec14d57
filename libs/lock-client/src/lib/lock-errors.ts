// The two ways a lock can fail its user, as domain errors so they travel
// through the rpc error table like any other: the wait ended without the lock
// (retryable: the holder's lease runs out by itself), or a held lock stopped
// being the holder's (not retryable as it is: the work done under it may
// overlap another holder's and must be looked at).
import { lockV1 } from '@bulwark/contracts';
import { FailedPreconditionError } from '@bulwark/errors';

/** The current holder of a lock, as the lock service saw it when it answered. */
export interface LockHolder {
  readonly owner: string;
  readonly token: bigint;
  /** Lease left when the service answered, ms. */
  readonly remainingTtlMs: number;
}

/**
 * Why a held lock is no longer the holder's:
 * - `expired`: the service found the lease run out (a renewal came too late or found it gone, or a resume was refused);
 * - `released`: a Release of this grant made by another call;
 * - `backend-majority-lost`: the lease's validity ran out while renewals could not reach a majority of the backends;
 * - `expired-locally`: this client's validity deadline passed without a renewal extending it (a slow or paused
 *   client or service, or a broken stream that no instance could resume in time);
 * - `released-by-holder`: the holder released it (or gave it up to expire because the release could not be confirmed);
 * - `client-closed`: the LockClient was closed while the lock was held (the lease is left to expire);
 * - `unknown`: a cause this build does not know.
 */
export type LockLossCause =
  | 'expired'
  | 'released'
  | 'backend-majority-lost'
  | 'expired-locally'
  | 'released-by-holder'
  | 'client-closed'
  | 'unknown';

export function lossCauseOf(cause: lockV1.LossCause): LockLossCause {
  switch (cause) {
    case lockV1.LossCause.LOSS_CAUSE_EXPIRED:
      return 'expired';
    case lockV1.LossCause.LOSS_CAUSE_RELEASED:
      return 'released';
    case lockV1.LossCause.LOSS_CAUSE_BACKEND_MAJORITY_LOST:
      return 'backend-majority-lost';
    default:
      return 'unknown';
  }
}

/** The reason a held lock's signal is aborted with; also what release() and withLock reject with after a loss. */
export class LockLostError extends FailedPreconditionError {
  constructor(
    readonly lockName: string,
    readonly token: bigint,
    readonly lossCause: LockLossCause,
    detail: string,
  ) {
    super('token', `lock ${JSON.stringify(lockName)} under token ${token} is no longer held (${lossCause}): ${detail}`);
  }
}

/** A wait for a lock that ended without it; names the holder when the service told. */
export class LockNotAcquiredError extends FailedPreconditionError {
  constructor(
    readonly lockName: string,
    readonly waitTimeoutMs: number,
    readonly holder: LockHolder | undefined,
  ) {
    const heldBy = holder
      ? `held by owner ${JSON.stringify(holder.owner)} under token ${holder.token} (${holder.remainingTtlMs} ms of lease left)`
      : 'held by another owner';
    super('name', `lock ${JSON.stringify(lockName)} is ${heldBy}; the wait of ${waitTimeoutMs} ms ended first`, {
      retryable: true,
    });
  }
}

export function holderOf(holder: lockV1.Holder | undefined): LockHolder | undefined {
  return holder && { owner: holder.owner, token: holder.token, remainingTtlMs: holder.remainingTtlMs };
}

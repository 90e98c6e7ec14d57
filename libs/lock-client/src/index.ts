export {
  defaultCallTimeoutMs,
  LockClient,
  type LockClientOptions,
  type LockGrantResult,
  type LockRenewal,
  type LockState,
} from './lib/lock-client';
export { LockLostError, LockNotAcquiredError, type LockHolder, type LockLossCause } from './lib/lock-errors';
export { type HeldLock, type HoldAttempt, type HoldOptions } from './lib/held-lock';
export {
  defaultOwner,
  defaultWithLockTtlMs,
  defaultWithLockWaitTimeoutMs,
  withLock,
  type Lease,
  type WithLockOptions,
} from './lib/with-lock';

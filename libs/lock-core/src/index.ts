export {
  attemptLengthMax,
  attemptPrefixLengthMax,
  isAttempt,
  requireAttempt,
  requireAttemptPrefix,
} from './lib/lock-attempts';
export type {
  LockServer,
  ServerClaim,
  ServerEnqueued,
  ServerGrant,
  ServerHolder,
  ServerLockState,
  ServerQueue,
  ServerEnqueue,
  ServerRelease,
  ServerReleaser,
} from './lib/lock-server';
export {
  defaultDriftFraction,
  defaultDriftMinMs,
  defaultPlacesMax,
  LockQuorum,
  stepRoundsMax,
  type AcquireAttempt,
  type Grant,
  type LockQuorumOptions,
  type LockView,
  type QueuePlace,
  type WaiterClaim,
} from './lib/lock-quorum';
export { placeLastsThrough } from './lib/place-renewals';
export {
  compareWaiters,
  requireTicket,
  requireWaiterId,
  requireWaiterLeaseMs,
  ticketMax,
  waiterIdBytesMax,
  waiterLeaseMsMax,
} from './lib/lock-waiters';
export { setBounded } from './lib/bounded-map';
export { requireToken, tokenMax } from './lib/lock-tokens';
export { MemoryLockServer, type ReleasedListener } from './lib/memory-lock-server';

export type { LockServer, ServerGrant, ServerHolder, ServerLockState } from './lib/lock-server';
export {
  defaultDriftFraction,
  defaultDriftMinMs,
  LockQuorum,
  type AcquireAttempt,
  type Grant,
  type LockQuorumOptions,
  type LockView,
} from './lib/lock-quorum';
export { MemoryLockServer } from './lib/memory-lock-server';

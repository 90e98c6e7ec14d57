export { memoryBackend, redisBackend, type LockBackend, type RedisBackendOptions } from './lib/lock-backend';
export { LockNode, type LockNodeOptions } from './lib/lock-node';
export { lockLimits } from './lib/lock-requests';
export { lockService, type BackendDescription, type LockServiceOptions } from './lib/lock-service';
export { defaultWaiterLeaseMs, Locks, type AcquireResult, type LocksOptions } from './lib/locks';

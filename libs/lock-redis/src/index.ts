export {
  fenceKey,
  holderKey,
  leftMessage,
  queueKey,
  releasedChannel,
  ticketKey,
  tokenMax,
  waiterLeasesKey,
} from './lib/lock-keys';
export { RedisLockServer, type RedisLockServerOptions } from './lib/redis-lock-server';
export {
  RedisLockEvents,
  type LockEvent,
  type LockEventListener,
  type LockEventSource,
  type RedisLockEventsOptions,
  type RedisLockEventsStats,
  type RedisServerCheck,
} from './lib/redis-lock-events';

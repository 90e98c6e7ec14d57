export {
  claimsKey,
  fenceKey,
  holderKey,
  leftMessage,
  queueKey,
  releasedChannel,
  ticketKey,
  waiterLeasesKey,
} from './lib/lock-keys';
export { RedisLockServer, type RedisLockServerOptions } from './lib/redis-lock-server';
export { parseReleasedMessage, type HandedTo, type ReleasedMessage } from './lib/redis-lock-events-parsing';
export {
  RedisLockEvents,
  type LockEvent,
  type LockEventListener,
  type LockEventSource,
  type RedisLockEventsOptions,
  type RedisLockEventsStats,
  type RedisServerCheck,
} from './lib/redis-lock-events';

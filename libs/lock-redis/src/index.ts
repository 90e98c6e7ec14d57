export {
  claimsKey,
  fenceKey,
  holderKey,
  leftMessage,
  queueKey,
  releasedChannel,
  serverMarkKey,
  serverSuspectKey,
  ticketKey,
  waiterLeasesKey,
} from './lib/lock-keys';
export {
  RedisLockServer,
  type RedisLockServerOptions,
  type RestorableKey,
  type ServerMark,
} from './lib/redis-lock-server';
export { RedisLockServers, type RedisLockServersOptions, type ServerMarkReport } from './lib/redis-lock-servers';
export { planMarks, type MarkPlan, type ServerMarkView } from './lib/server-marks';
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

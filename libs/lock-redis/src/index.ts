export { fenceKey, holderKey, releasedChannel, tokenMax } from './lib/lock-keys';
export { RedisLockServer, type RedisLockServerOptions } from './lib/redis-lock-server';

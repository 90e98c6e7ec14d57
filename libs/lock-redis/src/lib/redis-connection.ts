// How every connection of the lock service to a Redis server behaves, the
// calls' and the pub/sub's alike: nothing waits in a queue for a connection
// that is down, nothing is resent after a drop, and a server that is away
// is reconnected to for as long as it is away.
import type { RedisOptions } from 'ioredis';

export const defaultConnectTimeoutMs = 1_000;
export const defaultReconnectDelayMsMax = 1_000;
const reconnectDelayMsMin = 50;
/** How often a connection asks a server that is loading its data whether it is done. */
const loadingRecheckMs = 100;
/** How long close() lets a socket drain before destroying it; ioredis also leaves this timer behind when closing between reconnections. */
export const disconnectTimeoutMs = 100;
/** Longer timers overflow in Node and fire at once. */
export const timeoutMsMax = 2 ** 31 - 1;

export interface RedisConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
  /** Longest pause between reconnection attempts, which back off from 50 ms. */
  readonly reconnectDelayMsMax: number;
}

export function redisConnectionOptions(settings: RedisConnectionSettings): RedisOptions {
  return {
    host: settings.host,
    port: settings.port,
    connectTimeout: settings.connectTimeoutMs,
    // A command to a server that is not connected fails at once rather than
    // wait in a queue and be sent after its caller gave up on it; commands a
    // dropped connection left unanswered fail too, and are not resent.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(reconnectDelayMsMin * 2 ** (attempt - 1), settings.reconnectDelayMsMax),
    // Ready only once the server has loaded its data (the fences) after a restart, asked again this often while
    // it loads: ioredis otherwise sleeps the server's loading estimate, up to 10 s, and an estimate made in the
    // first moments of a load (a second elapsed, a few bytes read) is huge even for data loaded in milliseconds.
    enableReadyCheck: true,
    maxLoadingRetryTime: loadingRecheckMs,
    disconnectTimeout: disconnectTimeoutMs,
  };
}

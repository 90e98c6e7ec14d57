// How a lock-service instance hears that a lock may have become free: one
// subscriber connection per Redis server (independent servers, not a
// cluster) carrying each watched lock's released channel and the server's
// expired-key notifications. Events are hints that make waiters re-check
// sooner, never facts to act on: a message can be lost while a connection
// is down (watchers then get 'resubscribed'), and a server can be
// misconfigured (serverChecks() says so). Callers keep a bounded periodic
// re-check.
import { InvalidArgumentError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import { releasedChannel } from './lock-keys';
import {
  defaultConnectTimeoutMs,
  defaultReconnectDelayMsMax,
  disconnectTimeoutMs,
  redisConnectionOptions,
  timeoutMsMax,
} from './redis-connection';
import {
  configValueOf,
  judgeServerSettings,
  nameOfHolderKey,
  parseReleasedMessage,
  type HandedTo,
  type ServerSafety,
} from './redis-lock-events-parsing';

export type LockEvent =
  /**
   * A holder released the lock (the release script publishes its token and
   * attempt): a grant's own release only when both are the grant's, as
   * another attempt under the same token may have been undone. handedTo:
   * the release handed the lock over to the queue's head, under that token
   * and the head's claim attempt.
   */
  | { readonly kind: 'released'; readonly token: bigint; readonly attempt: string; readonly handedTo?: HandedTo }
  /** A release handed the lock, free on this server (nothing was released here), over to the queue's head. */
  | { readonly kind: 'handed'; readonly handedTo: HandedTo }
  /** A queued waiter left. */
  | { readonly kind: 'left' }
  /** The holder key expired: the lease ran out. */
  | { readonly kind: 'expired' }
  /** The server's subscription was (re)established after a time without it: events may have been missed, re-check. */
  | { readonly kind: 'resubscribed' };

export type LockEventListener = (event: LockEvent, serverId: string) => void;

export interface LockEventSource {
  /**
   * Calls listener for every event about name until the returned function
   * is called. Resolves once the subscription is in place on every server
   * that is connected (so a caller that subscribes, then reads, misses
   * nothing); a server that is down or does not confirm within the
   * subscribe timeout does not hold it up, and sends 'resubscribed' once
   * its subscription is in place.
   */
  watch(name: string, listener: LockEventListener): Promise<() => void>;
  close(): Promise<void>;
}

/** What is known of one server's connection and settings. */
export interface RedisServerCheck {
  readonly id: string;
  /** The subscriber connection is up and subscribed (or subscribing). */
  readonly connected: boolean;
  /** appendonly yes and appendfsync always, as of the last check; undefined until known, or when CONFIG GET fails. */
  readonly appendfsyncAlways: boolean | undefined;
  /** notify-keyspace-events includes E and x, as of the last check; undefined until known, or when CONFIG GET fails. */
  readonly expiryEvents: boolean | undefined;
  /** Why the server is unsafe, unreachable or unknown, in one line for a log warning. */
  readonly problem?: string;
}

export interface RedisLockEventsOptions {
  servers: ReadonlyArray<{ host: string; port: number; id?: string }>;
  /** How long one connection attempt may take before it counts as failed. */
  connectTimeoutMs?: number;
  /** Longest wait in watch() for connected servers to confirm a subscription. */
  subscribeTimeoutMs?: number;
  /** Longest pause between reconnection attempts, which back off from 50 ms. */
  reconnectDelayMsMax?: number;
  /** How often each connection is PINGed; two intervals without an answer and it is dropped and reconnected. */
  heartbeatIntervalMs?: number;
  /** Lock names watched at once (each one channel subscription per server), past which watch() fails. */
  watchedNamesMax?: number;
}

export interface RedisLockEventsStats {
  /** Released-channel messages that no script sends, ignored. */
  readonly ignoredMessages: number;
  /** Exceptions thrown by listeners, caught so the other listeners still hear the event. */
  readonly listenerErrors: number;
}

const defaultSubscribeTimeoutMs = 1_000;
const defaultHeartbeatIntervalMs = 1_000;
const defaultWatchedNamesMax = 10_000;
/** Heartbeat ticks a PING may stay unanswered: one tick could come before a blocked event loop read the PONG. */
const unansweredTicksMax = 2;
/** Channels per SUBSCRIBE when resubscribing, so one command stays small. */
const channelsPerSubscribeMax = 1_000;
/** Expired keys of every database; the message is the key. */
const expiredPattern = '__keyevent@*__:expired';

interface Watcher {
  readonly listener: LockEventListener;
}

export class RedisLockEvents implements LockEventSource {
  private readonly servers: ServerSubscriber[];
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly nameByChannel = new Map<string, string>();
  private readonly checkListeners = new Set<(check: RedisServerCheck) => void>();
  private readonly subscribeTimeoutMs: number;
  private readonly watchedNamesMax: number;
  private readonly heartbeat: NodeJS.Timeout;
  private ignoredMessages = 0;
  private listenerErrors = 0;
  private closing: Promise<void> | undefined;

  constructor(options: RedisLockEventsOptions) {
    this.subscribeTimeoutMs = durationOption(
      'subscribeTimeoutMs',
      options.subscribeTimeoutMs,
      defaultSubscribeTimeoutMs,
    );
    this.watchedNamesMax = options.watchedNamesMax ?? defaultWatchedNamesMax;
    if (!Number.isSafeInteger(this.watchedNamesMax) || this.watchedNamesMax <= 0) {
      throw new InvalidArgumentError('watchedNamesMax', 'must be a positive integer');
    }
    const connectTimeoutMs = durationOption('connectTimeoutMs', options.connectTimeoutMs, defaultConnectTimeoutMs);
    const reconnectDelayMsMax = durationOption(
      'reconnectDelayMsMax',
      options.reconnectDelayMsMax,
      defaultReconnectDelayMsMax,
    );
    const heartbeatIntervalMs = durationOption(
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs,
      defaultHeartbeatIntervalMs,
    );
    const ids = options.servers.map((server) => server.id ?? `${server.host}:${server.port}`);
    if (new Set(ids).size !== ids.length) throw new InvalidArgumentError('servers', 'ids must be distinct');
    this.servers = options.servers.map(
      (server, index) =>
        new ServerSubscriber(
          {
            id: ids[index] as string,
            host: server.host,
            port: server.port,
            connectTimeoutMs,
            reconnectDelayMsMax,
          },
          {
            watchedNames: () => [...this.watchers.keys()],
            onReleasedMessage: (serverId, channel, message) => this.onReleasedMessage(serverId, channel, message),
            onExpiredKey: (serverId, key) => this.onExpiredKey(serverId, key),
            onResubscribed: (serverId, names) => this.onResubscribed(serverId, names),
            onCheck: (check) => this.onCheck(check),
          },
        ),
    );
    this.heartbeat = setInterval(() => {
      for (const server of this.servers) server.heartbeat();
    }, heartbeatIntervalMs);
    // Only the connections should keep a process alive, and close() ends them.
    this.heartbeat.unref();
  }

  async watch(name: string, listener: LockEventListener): Promise<() => void> {
    if (this.closing !== undefined) throw new UnavailableError('lock events: closed');
    requireName(name);
    let watchers = this.watchers.get(name);
    if (watchers === undefined) {
      if (this.watchers.size >= this.watchedNamesMax) {
        throw new ResourceExhaustedError('watchedNamesMax', `${this.watchedNamesMax} lock names are watched already`);
      }
      watchers = new Set();
      this.watchers.set(name, watchers);
      this.nameByChannel.set(releasedChannel(name), name);
      for (const server of this.servers) server.subscribe(name);
    }
    // Added before the subscription is confirmed: an event that comes meanwhile is delivered too.
    const watcher: Watcher = { listener };
    watchers.add(watcher);
    const unwatch = () => this.unwatch(name, watcher);
    await this.confirmed(name);
    return unwatch;
  }

  /** What is known of each server, in the order given. */
  serverChecks(): RedisServerCheck[] {
    return this.servers.map((server) => server.check());
  }

  /** Calls listener with a server's check after each connect (once its settings are read) and when it disconnects. */
  onServerCheck(listener: (check: RedisServerCheck) => void): () => void {
    this.checkListeners.add(listener);
    return () => this.checkListeners.delete(listener);
  }

  stats(): RedisLockEventsStats {
    return { ignoredMessages: this.ignoredMessages, listenerErrors: this.listenerErrors };
  }

  /** Ends every connection; resolves once all are closed. Watchers hear nothing more. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      clearInterval(this.heartbeat);
      this.watchers.clear();
      this.nameByChannel.clear();
      this.checkListeners.clear();
      this.closing = Promise.all(this.servers.map((server) => server.close())).then(() => undefined);
    }
    return this.closing;
  }

  private onReleasedMessage(serverId: string, channel: string, message: string): void {
    const name = this.nameByChannel.get(channel);
    // A message sent before an UNSUBSCRIBE took effect: nobody asked for it.
    if (name === undefined) return;
    const event = parseReleasedMessage(message);
    if (event === undefined) {
      this.ignoredMessages += 1;
      return;
    }
    this.deliver(name, event, serverId);
  }

  private onExpiredKey(serverId: string, key: string): void {
    const name = nameOfHolderKey(key);
    if (name !== undefined) this.deliver(name, { kind: 'expired' }, serverId);
  }

  private onResubscribed(serverId: string, names: readonly string[]): void {
    for (const name of names) this.deliver(name, { kind: 'resubscribed' }, serverId);
  }

  private onCheck(check: RedisServerCheck): void {
    for (const listener of [...this.checkListeners]) {
      try {
        listener(check);
      } catch {
        this.listenerErrors += 1;
      }
    }
  }

  private deliver(name: string, event: LockEvent, serverId: string): void {
    const watchers = this.watchers.get(name);
    if (watchers === undefined) return;
    for (const watcher of [...watchers]) {
      // An earlier listener may have unwatched this one.
      if (!watchers.has(watcher)) continue;
      try {
        watcher.listener(event, serverId);
      } catch {
        this.listenerErrors += 1;
      }
    }
  }

  private unwatch(name: string, watcher: Watcher): void {
    const watchers = this.watchers.get(name);
    if (watchers === undefined || !watchers.delete(watcher) || watchers.size > 0) return;
    this.watchers.delete(name);
    this.nameByChannel.delete(releasedChannel(name));
    for (const server of this.servers) server.unsubscribe(name);
  }

  /** Resolves once every connected server confirmed name's subscription, or after the subscribe timeout. */
  private async confirmed(name: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.subscribeTimeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.servers.map((server) => server.confirmation(name))), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What a server's subscriber asks of, and tells, the RedisLockEvents it belongs to. */
interface SubscriberHooks {
  /** The names to subscribe on a new connection. */
  watchedNames(): string[];
  onReleasedMessage(serverId: string, channel: string, message: string): void;
  onExpiredKey(serverId: string, key: string): void;
  onResubscribed(serverId: string, names: readonly string[]): void;
  onCheck(check: RedisServerCheck): void;
}

interface ServerSubscriberOptions {
  id: string;
  host: string;
  port: number;
  connectTimeoutMs: number;
  reconnectDelayMsMax: number;
}

/**
 * One server's subscriber connection. Subscriptions are kept here, per
 * connection, rather than by ioredis (autoResubscribe is off): a new
 * connection first reads the server's settings (CONFIG GET is refused once
 * a connection subscribes), then subscribes to expiries and to exactly the
 * names watched at that moment.
 */
class ServerSubscriber {
  readonly id: string;
  private readonly redis: Redis;
  /** Per watched name, the confirmation of its SUBSCRIBE on the current connection; never rejects. */
  private readonly subscriptions = new Map<string, Promise<void>>();
  private expirySubscription: Promise<void> = Promise.resolve();
  /** Set once a connection is set up (not at ioredis's 'ready' status, which comes a tick before its event). */
  private live = false;
  /** Counts connections, so a late reply to an old one changes nothing. */
  private connection = 0;
  private unansweredTicks = 0;
  private pingOutstanding = false;
  private safety: ServerSafety = { appendfsyncAlways: undefined, expiryEvents: undefined, problem: undefined };
  private lastConnectionError: string | undefined;

  constructor(
    options: ServerSubscriberOptions,
    private readonly hooks: SubscriberHooks,
  ) {
    this.id = options.id;
    this.redis = new Redis({
      ...redisConnectionOptions(options),
      // Subscriptions are made again by setUp(), for exactly the names watched then: a stale UNSUBSCRIBE
      // resent after a resubscription would drop a watched name, and CONFIG is refused once subscribed.
      autoResubscribe: false,
    });
    this.redis.on('error', (error: Error) => {
      const changed = error.message !== this.lastConnectionError;
      this.lastConnectionError = error.message;
      // Said once per new reason while away, not at every reconnection attempt.
      if (changed && !this.live) this.hooks.onCheck(this.check());
    });
    this.redis.on('ready', () => this.setUp());
    this.redis.on('close', () => this.lost());
    this.redis.on('message', (channel: string, message: string) =>
      this.hooks.onReleasedMessage(this.id, channel, message),
    );
    this.redis.on('pmessage', (pattern: string, _channel: string, key: string) => {
      if (pattern === expiredPattern) this.hooks.onExpiredKey(this.id, key);
    });
  }

  subscribe(name: string): void {
    if (!this.writable()) return;
    this.subscriptions.set(name, settled(this.redis.subscribe(releasedChannel(name))));
  }

  unsubscribe(name: string): void {
    this.subscriptions.delete(name);
    if (this.writable()) void settled(this.redis.unsubscribe(releasedChannel(name)));
  }

  /** Resolves once name's subscription is confirmed here; at once when not connected. */
  confirmation(name: string): Promise<void> {
    if (!this.writable()) return Promise.resolve();
    if (!this.subscriptions.has(name)) this.subscribe(name);
    return Promise.all([this.expirySubscription, this.subscriptions.get(name)]).then(() => undefined);
  }

  check(): RedisServerCheck {
    const problems = [
      ...(this.live ? [] : [`not connected${this.lastConnectionError ? ` (${this.lastConnectionError})` : ''}`]),
      ...(this.safety.problem === undefined ? [] : [this.safety.problem]),
    ];
    return {
      id: this.id,
      connected: this.live,
      appendfsyncAlways: this.safety.appendfsyncAlways,
      expiryEvents: this.safety.expiryEvents,
      ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
    };
  }

  heartbeat(): void {
    if (!this.live) return;
    if (this.pingOutstanding) {
      this.unansweredTicks += 1;
      // Silent past two ticks: the server hangs or the network dropped the
      // connection without a reset, and a subscriber would never notice.
      if (this.unansweredTicks >= unansweredTicksMax) {
        this.lastConnectionError = `no answer to PING within ${unansweredTicksMax} heartbeats`;
        this.redis.disconnect(true);
        this.lost();
      }
      return;
    }
    const connection = this.connection;
    this.pingOutstanding = true;
    this.unansweredTicks = 0;
    void settled(this.redis.ping()).then(() => {
      if (connection === this.connection) this.pingOutstanding = false;
    });
  }

  async close(): Promise<void> {
    this.live = false;
    const status = this.redis.status;
    if (status === 'end') return;
    // Between attempts there is no socket, so no 'end' comes.
    const ended = status === 'reconnecting' ? undefined : new Promise((resolve) => this.redis.once('end', resolve));
    this.redis.disconnect();
    await ended;
    // Without a socket of its own yet, ioredis arms its disconnect timer on
    // the previous connection's socket, which never clears it: let it run
    // out, so no timer outlives close().
    if (status === 'reconnecting' || status === 'connecting') await delay(disconnectTimeoutMs);
  }

  private writable(): boolean {
    return this.live && this.redis.status === 'ready';
  }

  private setUp(): void {
    this.connection += 1;
    const connection = this.connection;
    this.live = true;
    this.lastConnectionError = undefined;
    this.pingOutstanding = false;
    this.subscriptions.clear();
    // Sent first: the server refuses CONFIG on a connection that subscribed.
    void this.readSettings(connection);
    this.expirySubscription = settled(this.redis.psubscribe(expiredPattern));
    const names = this.hooks.watchedNames();
    const confirmations = [this.expirySubscription];
    for (let start = 0; start < names.length; start += channelsPerSubscribeMax) {
      const batch = names.slice(start, start + channelsPerSubscribeMax);
      const confirmed = settled(this.redis.subscribe(...batch.map(releasedChannel)));
      for (const name of batch) this.subscriptions.set(name, confirmed);
      confirmations.push(confirmed);
    }
    if (names.length === 0) return;
    void Promise.all(confirmations).then(() => {
      if (connection !== this.connection || !this.live) return;
      // Only names still watched, each with this connection's subscription.
      this.hooks.onResubscribed(
        this.id,
        names.filter((name) => this.subscriptions.has(name)),
      );
    });
  }

  private async readSettings(connection: number): Promise<void> {
    const read = (parameter: string) =>
      this.redis.config('GET', parameter).then(
        (reply: unknown) => configValueOf(parameter, reply),
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      );
    const [appendonly, appendfsync, notifyKeyspaceEvents, maxmemory, maxmemoryPolicy] = await Promise.all([
      read('appendonly'),
      read('appendfsync'),
      read('notify-keyspace-events'),
      read('maxmemory'),
      read('maxmemory-policy'),
    ]);
    if (connection !== this.connection || !this.live) return;
    this.safety = judgeServerSettings({ appendonly, appendfsync, notifyKeyspaceEvents, maxmemory, maxmemoryPolicy });
    this.hooks.onCheck(this.check());
  }

  private lost(): void {
    if (!this.live) return;
    this.live = false;
    this.subscriptions.clear();
    this.hooks.onCheck(this.check());
  }
}

/** promise's outcome ignored: a failed subscription is made good on the next connection, and callers re-check anyway. */
function settled(promise: Promise<unknown>): Promise<void> {
  return promise.then(
    () => undefined,
    () => undefined,
  );
}

function requireName(name: string): void {
  if (name.length === 0) throw new InvalidArgumentError('name', 'must not be empty');
  // Redis keeps UTF-8 bytes: a lone surrogate would become U+FFFD there, and two names one.
  if (Buffer.from(name, 'utf8').toString('utf8') !== name) {
    throw new InvalidArgumentError('name', 'is not valid Unicode (a lone surrogate)');
  }
}

function durationOption(field: string, value: number | undefined, defaultMs: number): number {
  if (value === undefined) return defaultMs;
  if (!Number.isSafeInteger(value) || value <= 0 || value > timeoutMsMax) {
    throw new InvalidArgumentError(field, `must be a whole number of milliseconds from 1 to ${timeoutMsMax}`);
  }
  return value;
}

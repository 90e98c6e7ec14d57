// RedisLockEvents against real redis-server processes: releases, waiters
// leaving and expiries reach the watchers of that lock only; subscriptions
// follow the watchers; a server that dies, hangs or is misconfigured is
// survived and reported; close() leaves nothing running.
import { InvalidArgumentError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import {
  closeRedisClients,
  connectRedisClient,
  freePort,
  killAllProcesses,
  startProcess,
  startRedisServer,
  type ManagedProcess,
  type RedisServer,
} from '@bulwark/testing';
import { createHook } from 'node:async_hooks';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { fenceKey, holderKey, releasedChannel } from './lock-keys';
import { RedisLockEvents, type LockEvent, type RedisServerCheck } from './redis-lock-events';
import type { RedisLockServer } from './redis-lock-server';
import { RedisLockServers } from './redis-lock-servers';

const host = '127.0.0.1';
const eventWaitMs = 5_000;
const timeoutMs = 2_000;
/** What a loaded 2-core machine may add to a timer. */
const timerSlackMs = 1_000;

let redis: RedisServer;
let events: RedisLockEvents;
let raw: Redis;
let nameCount = 0;
const eventSources: RedisLockEvents[] = [];
const lockServerGroups: RedisLockServers[] = [];
const redisServers: RedisServer[] = [];
const configuredDirs: string[] = [];

function freshName(): string {
  nameCount += 1;
  return `events-${nameCount}`;
}

function eventSource(options: ConstructorParameters<typeof RedisLockEvents>[0]): RedisLockEvents {
  const source = new RedisLockEvents(options);
  eventSources.push(source);
  return source;
}

async function startServer(): Promise<RedisServer> {
  const server = await startRedisServer();
  redisServers.push(server);
  return server;
}

interface Heard {
  readonly event: LockEvent;
  readonly serverId: string;
}

/** A listener that keeps what it hears, and waits for what it has not heard yet. */
function recorder() {
  const heard: Heard[] = [];
  let taken = 0;
  let onHeard: (() => void) | undefined;
  const listener = (event: LockEvent, serverId: string) => {
    heard.push({ event, serverId });
    onHeard?.();
  };
  /** The first event from the last one taken on that matches, once heard. */
  const next = (matches: (heard: Heard) => boolean = () => true) =>
    new Promise<Heard>((resolve, reject) => {
      const take = () => {
        while (taken < heard.length) {
          const candidate = heard[taken] as Heard;
          taken += 1;
          if (matches(candidate)) {
            clearTimeout(timer);
            onHeard = undefined;
            resolve(candidate);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        onHeard = undefined;
        reject(new Error(`no matching event within ${eventWaitMs} ms; heard ${JSON.stringify(heard, bigints)}`));
      }, eventWaitMs);
      onHeard = take;
      take();
    });
  return { heard, listener, next };
}

function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

/** The first check of server id (now or to come) that matches. */
function checkOf(
  source: RedisLockEvents,
  id: string,
  matches: (check: RedisServerCheck) => boolean,
): Promise<RedisServerCheck> {
  return new Promise((resolve, reject) => {
    const current = source.serverChecks().find((check) => check.id === id);
    if (current && matches(current)) {
      resolve(current);
      return;
    }
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(`no matching check of ${id} within ${eventWaitMs} ms: ${JSON.stringify(source.serverChecks())}`),
      );
    }, eventWaitMs);
    const stop = source.onServerCheck((check) => {
      if (check.id !== id || !matches(check)) return;
      clearTimeout(timer);
      stop();
      resolve(check);
    });
  });
}

/** Connected with its settings read. */
const settingsRead = (check: RedisServerCheck) => check.connected && check.expiryEvents !== undefined;
const settingsUnknownButConnected = (check: RedisServerCheck) => check.connected && check.problem !== undefined;

/**
 * Resolves once every command the source sent its connected servers so far
 * has been answered: a watch resolves only after its own SUBSCRIBE is
 * confirmed, and one connection's commands are answered in order.
 */
async function answered(source: RedisLockEvents): Promise<void> {
  const unwatch = await source.watch(freshName(), () => undefined);
  unwatch();
}

async function subscribers(client: Redis, name: string): Promise<number> {
  const [, count] = (await client.pubsub('NUMSUB', releasedChannel(name))) as [string, number];
  return count;
}

/** Keys the server reports expired from now on (database 0), awaited one by one. */
async function expiries(server: RedisServer): Promise<{ seen(key: string): Promise<void> }> {
  const subscriber = connectRedisClient(server);
  const keys: string[] = [];
  const waiting = new Set<() => void>();
  subscriber.on('message', (_channel: string, key: string) => {
    keys.push(key);
    for (const check of [...waiting]) check();
  });
  await subscriber.subscribe('__keyevent@0__:expired');
  const seen = (key: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!keys.includes(key)) return;
        waiting.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiting.delete(check);
        reject(new Error(`${key} did not expire within ${eventWaitMs} ms`));
      }, eventWaitMs);
      waiting.add(check);
      check();
    });
  return { seen };
}

/** A redis-server of this test's own with extra arguments, on a free port in a temporary directory. */
async function startConfiguredServer(args: string[]): Promise<{ port: number; process: ManagedProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-redis-events-'));
  configuredDirs.push(dir);
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort(host);
    const child = startProcess({
      command: '/usr/bin/redis-server',
      args: ['--port', String(port), '--bind', host, '--dir', dir, '--save', '', ...args],
      cwd: dir,
    });
    try {
      await child.waitForLine((line) => line.includes('Ready to accept connections'), 10_000);
      return { port, process: child };
    } catch (error) {
      await child.kill();
      // The port freePort found may have been taken meanwhile.
      if (attempt >= 3) throw error;
    }
  }
}

const configuredClients: Redis[] = [];

/** A client of a server startConfiguredServer started. */
function clientOn(port: number): Redis {
  const client = new Redis({ host, port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  configuredClients.push(client);
  return client;
}

beforeAll(async () => {
  redis = await startServer();
  raw = connectRedisClient(redis);
  events = eventSource({ servers: [{ host, port: redis.port, id: 'redis-a' }] });
  await checkOf(events, 'redis-a', settingsRead);
});

afterAll(async () => {
  await Promise.all(eventSources.map((source) => source.close()));
  await Promise.all(lockServerGroups.map((group) => group.close()));
  await closeRedisClients();
  await Promise.all(
    configuredClients.map(async (client) => {
      if (client.status === 'end') return;
      const ended = once(client, 'end');
      client.disconnect();
      await ended;
    }),
  );
  await Promise.all(redisServers.map((server) => server.remove()));
  await killAllProcesses();
  for (const dir of configuredDirs) rmSync(dir, { recursive: true, force: true });
});

describe('release and leave messages', () => {
  it('reach the watchers of that lock with the exact token and attempt, and no other lock’s watchers', async () => {
    const group = new RedisLockServers({ servers: [{ host, port: redis.port }] });
    lockServerGroups.push(group);
    const [lockServer] = group.servers as [RedisLockServer];
    expect(await group.waitUntilCounted(timeoutMs)).toBe(true);
    const [name, other] = [freshName(), freshName()];
    const watcher = recorder();
    const otherWatcher = recorder();
    await events.watch(name, watcher.listener);
    await events.watch(other, otherWatcher.listener);

    await lockServer.grant(name, 'alice', 9007199254740993n, 'lock-2.c0ffee.41', 60_000, timeoutMs);
    await lockServer.release(name, 'alice', 9007199254740993n, timeoutMs);
    expect(await watcher.next()).toEqual({
      event: { kind: 'released', token: 9007199254740993n, attempt: 'lock-2.c0ffee.41' },
      serverId: 'redis-a',
    });

    // One connection hears messages in publishing order: had the release reached other, it would come first.
    await raw.publish(releasedChannel(other), 'left');
    expect(await otherWatcher.next()).toEqual({ event: { kind: 'left' }, serverId: 'redis-a' });
    expect(otherWatcher.heard).toHaveLength(1);
    expect(watcher.heard).toHaveLength(1);
  });

  it('ignore and count messages no script sends, and deliver the next real one', async () => {
    const name = freshName();
    const watcher = recorder();
    await events.watch(name, watcher.listener);
    const ignoredBefore = events.stats().ignoredMessages;
    // A bare token is what releases published before attempts: no script sends it now.
    const unsent = [
      '007:i1.1',
      '-1:i1.1',
      '18446744073709551616:i1.1',
      'Left',
      '',
      '5',
      '5:',
      '5:i1:1',
      ':i1.1',
      '5:i 1',
    ];
    for (const message of unsent) await raw.publish(releasedChannel(name), message);
    await raw.publish(releasedChannel(name), '18446744073709551615:lock-1.x.9');
    expect(await watcher.next()).toEqual({
      event: { kind: 'released', token: 2n ** 64n - 1n, attempt: 'lock-1.x.9' },
      serverId: 'redis-a',
    });
    expect(watcher.heard).toHaveLength(1);
    expect(events.stats().ignoredMessages).toBe(ignoredBefore + unsent.length);
  });

  it('reach every listener even when one throws', async () => {
    const name = freshName();
    const errorsBefore = events.stats().listenerErrors;
    await events.watch(name, () => {
      throw new Error('a listener bug');
    });
    const watcher = recorder();
    await events.watch(name, watcher.listener);
    await raw.publish(releasedChannel(name), '1:i1.1');
    await raw.publish(releasedChannel(name), '2:i1.1');
    expect((await watcher.next()).event).toEqual({ kind: 'released', token: 1n, attempt: 'i1.1' });
    expect((await watcher.next()).event).toEqual({ kind: 'released', token: 2n, attempt: 'i1.1' });
    expect(events.stats().listenerErrors).toBe(errorsBefore + 2);
  });
});

describe('expiries', () => {
  it('of a holder key reach its lock’s watchers as expired; other keys’ expiries reach nobody', async () => {
    const name = freshName();
    // Braces and a colon: its holder key ends like another lock's fence key, plus the brace.
    const trickyName = `${freshName()}}:fence`;
    const watcher = recorder();
    const trickyWatcher = recorder();
    await events.watch(name, watcher.listener);
    await events.watch(trickyName, trickyWatcher.listener);
    const expired = await expiries(redis);

    const notHolderKeys = [fenceKey(name), releasedChannel(name), `${holderKey(name)}x`, holderKey(freshName())];
    for (const key of notHolderKeys) await raw.set(key, '1', 'PX', 1);
    for (const key of notHolderKeys) await expired.seen(key);
    // The server announced those before it will announce these, on every connection.
    await raw.set(holderKey(name), '5:alice', 'PX', 100);
    expect(await watcher.next()).toEqual({ event: { kind: 'expired' }, serverId: 'redis-a' });
    expect(watcher.heard).toHaveLength(1);

    await raw.set(holderKey(trickyName), '6:bob', 'PX', 1);
    expect(await trickyWatcher.next()).toEqual({ event: { kind: 'expired' }, serverId: 'redis-a' });
    expect(trickyWatcher.heard).toHaveLength(1);
    expect(watcher.heard).toHaveLength(1);
  });
});

describe('subscriptions', () => {
  it('are one per name, kept while any watcher is left, and dropped with the last one', async () => {
    const name = freshName();
    const first = recorder();
    const second = recorder();
    const unwatchFirst = await events.watch(name, first.listener);
    expect(await subscribers(raw, name)).toBe(1);
    // The same function twice is two watchers.
    const unwatchSecond = await events.watch(name, second.listener);
    const unwatchSecondAgain = await events.watch(name, second.listener);
    expect(await subscribers(raw, name)).toBe(1);

    unwatchFirst();
    unwatchFirst();
    unwatchSecond();
    await answered(events);
    expect(await subscribers(raw, name)).toBe(1);
    await raw.publish(releasedChannel(name), '3:i1.1');
    expect((await second.next()).event).toEqual({ kind: 'released', token: 3n, attempt: 'i1.1' });
    expect(second.heard).toHaveLength(1);
    expect(first.heard).toHaveLength(0);

    unwatchSecondAgain();
    await answered(events);
    expect(await subscribers(raw, name)).toBe(0);

    // And come back with the next watcher.
    const third = recorder();
    const unwatchThird = await events.watch(name, third.listener);
    expect(await subscribers(raw, name)).toBe(1);
    await raw.publish(releasedChannel(name), '4:i1.1');
    expect((await third.next()).event).toEqual({ kind: 'released', token: 4n, attempt: 'i1.1' });
    unwatchThird();
  });

  it('let a listener unwatch another before it hears the event', async () => {
    const name = freshName();
    const later = recorder();
    const first = recorder();
    const unwatches: Array<() => void> = [];
    await events.watch(name, (event, serverId) => {
      first.listener(event, serverId);
      for (const unwatch of unwatches) unwatch();
    });
    unwatches.push(await events.watch(name, later.listener));
    await raw.publish(releasedChannel(name), '7:i1.1');
    await first.next();
    await answered(events);
    expect(later.heard).toHaveLength(0);
  });

  it('are bounded by watchedNamesMax', async () => {
    const bounded = eventSource({ servers: [{ host, port: redis.port }], watchedNamesMax: 2 });
    const [a, b, c] = [freshName(), freshName(), freshName()];
    await bounded.watch(a, () => undefined);
    const unwatchB = await bounded.watch(b, () => undefined);
    await expect(bounded.watch(c, () => undefined)).rejects.toBeInstanceOf(ResourceExhaustedError);
    // More watchers of a watched name cost no subscription.
    await bounded.watch(a, () => undefined);
    unwatchB();
    await bounded.watch(c, () => undefined);
    await bounded.close();
  });

  it('refuse an empty or malformed name, and any watch after close', async () => {
    await expect(events.watch('', () => undefined)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(events.watch('\uD800', () => undefined)).rejects.toBeInstanceOf(InvalidArgumentError);
    const closed = eventSource({ servers: [{ host, port: redis.port }] });
    await closed.close();
    await expect(closed.watch(freshName(), () => undefined)).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('server checks', () => {
  it('find an append-only, fsync-always server with expiry events safe', () => {
    expect(events.serverChecks()).toEqual([
      { id: 'redis-a', connected: true, appendfsyncAlways: true, expiryEvents: true },
    ]);
  });

  it('name the ids host:port unless given, and refuse two servers with one id or a bound out of range', () => {
    const unnamed = eventSource({ servers: [{ host, port: redis.port }] });
    expect(unnamed.serverChecks().map((check) => check.id)).toEqual([`${host}:${redis.port}`]);
    expect(
      () =>
        new RedisLockEvents({
          servers: [
            { host, port: redis.port },
            { host: '127.0.0.2', port: redis.port, id: `${host}:${redis.port}` },
          ],
        }),
    ).toThrow(InvalidArgumentError);
    for (const options of [
      { subscribeTimeoutMs: 0 },
      { heartbeatIntervalMs: 1.5 },
      { connectTimeoutMs: 2 ** 31 },
      { reconnectDelayMsMax: -1 },
      { watchedNamesMax: 0 },
    ]) {
      expect(() => new RedisLockEvents({ servers: [{ host, port: redis.port }], ...options })).toThrow(
        InvalidArgumentError,
      );
    }
  });

  it('report appendfsync everysec and missing expiry events, without changing the server', async () => {
    const server = await startConfiguredServer([
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--notify-keyspace-events',
      '',
    ]);
    const source = eventSource({ servers: [{ host, port: server.port, id: 'lax' }] });
    const check = await checkOf(source, 'lax', settingsRead);
    expect(check).toMatchObject({ connected: true, appendfsyncAlways: false, expiryEvents: false });
    expect(check.problem).toContain('appendfsync "everysec"');
    expect(check.problem).toContain('notify-keyspace-events is ""');
    const client = clientOn(server.port);
    expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
    expect(await client.config('GET', 'notify-keyspace-events')).toEqual(['notify-keyspace-events', '']);
  });

  it('report a server without the append-only file as unsafe', async () => {
    const server = await startConfiguredServer(['--appendonly', 'no', '--appendfsync', 'always']);
    const source = eventSource({ servers: [{ host, port: server.port, id: 'no-aof' }] });
    const check = await checkOf(source, 'no-aof', settingsRead);
    expect(check).toMatchObject({ appendfsyncAlways: false, expiryEvents: false });
    expect(check.problem).toContain('appendonly is "no"');
  });

  it('leave the settings unknown when CONFIG is disabled, and still deliver events', async () => {
    const server = await startConfiguredServer(['--rename-command', 'CONFIG', '', '--notify-keyspace-events', 'Ex']);
    const source = eventSource({ servers: [{ host, port: server.port, id: 'no-config' }] });
    const check = await checkOf(source, 'no-config', settingsUnknownButConnected);
    expect(check).toMatchObject({ connected: true, appendfsyncAlways: undefined, expiryEvents: undefined });
    expect(check.problem).toContain('CONFIG GET failed');
    const name = freshName();
    const watcher = recorder();
    await source.watch(name, watcher.listener);
    const client = clientOn(server.port);
    await client.publish(releasedChannel(name), '8:i1.1');
    expect(await watcher.next()).toEqual({
      event: { kind: 'released', token: 8n, attempt: 'i1.1' },
      serverId: 'no-config',
    });
    await client.set(holderKey(name), '8:alice', 'PX', 1);
    expect(await watcher.next()).toEqual({ event: { kind: 'expired' }, serverId: 'no-config' });
  });
});

describe('several servers', () => {
  it('deliver each server’s events with its id', async () => {
    const [b, c] = [await startServer(), await startServer()];
    const servers = { 'redis-a': redis, 'redis-b': b, 'redis-c': c };
    const source = eventSource({
      servers: Object.entries(servers).map(([id, server]) => ({ host, port: server.port, id })),
    });
    await Promise.all(Object.keys(servers).map((id) => checkOf(source, id, settingsRead)));
    const name = freshName();
    const watcher = recorder();
    await source.watch(name, watcher.listener);
    let token = 0n;
    for (const server of Object.values(servers)) {
      token += 1n;
      const client = connectRedisClient(server);
      await client.publish(releasedChannel(name), `${token}:i1.1`);
      await client.set(holderKey(name), `${token}:alice`, 'PX', 1);
    }
    for (let count = 0; count < 6; count += 1) await watcher.next();
    const describe = ({ event, serverId }: Heard) =>
      `${serverId} ${event.kind}${event.kind === 'released' ? ` ${event.token}` : ''}`;
    expect(watcher.heard.map(describe).sort()).toEqual([
      'redis-a expired',
      'redis-a released 1',
      'redis-b expired',
      'redis-b released 2',
      'redis-c expired',
      'redis-c released 3',
    ]);
  });

  it('do not hold up watch while one is down, and report it', async () => {
    const downPort = await freePort(host);
    const source = eventSource({
      servers: [
        { host, port: redis.port, id: 'up' },
        { host, port: downPort, id: 'down' },
      ],
      subscribeTimeoutMs: 30_000,
    });
    await checkOf(source, 'up', settingsRead);
    const down = await checkOf(source, 'down', (check) => check.problem?.includes('ECONNREFUSED') ?? false);
    expect(down).toMatchObject({ connected: false, appendfsyncAlways: undefined, expiryEvents: undefined });
    expect(down.problem).toContain('not connected');

    const name = freshName();
    const watcher = recorder();
    const started = performance.now();
    await source.watch(name, watcher.listener);
    expect(performance.now() - started).toBeLessThan(timerSlackMs);
    await raw.publish(releasedChannel(name), '9:i1.1');
    expect(await watcher.next()).toEqual({ event: { kind: 'released', token: 9n, attempt: 'i1.1' }, serverId: 'up' });
  });
});

describe('reconnection', () => {
  it('after a crash resubscribes the names still watched, says so, and delivers again', async () => {
    const server = await startServer();
    const source = eventSource({ servers: [{ host, port: server.port, id: 'crashy' }] });
    await checkOf(source, 'crashy', settingsRead);
    const [kept, dropped] = [freshName(), freshName()];
    const keptWatcher = recorder();
    const droppedWatcher = recorder();
    await source.watch(kept, keptWatcher.listener);
    const unwatchDropped = await source.watch(dropped, droppedWatcher.listener);

    await server.kill();
    await checkOf(source, 'crashy', (check) => !check.connected);
    unwatchDropped();
    await server.restart();
    expect(await keptWatcher.next()).toEqual({ event: { kind: 'resubscribed' }, serverId: 'crashy' });
    expect(await checkOf(source, 'crashy', settingsRead)).toEqual({
      id: 'crashy',
      connected: true,
      appendfsyncAlways: true,
      expiryEvents: true,
    });

    const client = connectRedisClient(server);
    expect(await subscribers(client, kept)).toBe(1);
    expect(await subscribers(client, dropped)).toBe(0);
    await client.publish(releasedChannel(kept), '10:i1.1');
    expect(await keptWatcher.next()).toEqual({
      event: { kind: 'released', token: 10n, attempt: 'i1.1' },
      serverId: 'crashy',
    });
    await client.set(holderKey(kept), '10:alice', 'PX', 1);
    expect(await keptWatcher.next()).toEqual({ event: { kind: 'expired' }, serverId: 'crashy' });
    expect(keptWatcher.heard).toHaveLength(3);
    expect(droppedWatcher.heard).toHaveLength(0);
  });

  it('bounds watch by the subscribe timeout while a connected server hangs', async () => {
    const server = await startServer();
    const subscribeTimeoutMs = 1_000;
    // A heartbeat too slow to notice the hang within this test.
    const source = eventSource({
      servers: [{ host, port: server.port, id: 'hung' }],
      subscribeTimeoutMs,
      heartbeatIntervalMs: 60_000,
    });
    await checkOf(source, 'hung', settingsRead);
    const client = connectRedisClient(server);
    server.pause();
    const name = freshName();
    const watcher = recorder();
    const started = performance.now();
    try {
      await source.watch(name, watcher.listener);
      const elapsedMs = performance.now() - started;
      // Timers round to whole milliseconds.
      expect(elapsedMs).toBeGreaterThanOrEqual(subscribeTimeoutMs - 1);
      expect(elapsedMs).toBeLessThan(subscribeTimeoutMs + timerSlackMs);
    } finally {
      server.resume();
    }
    // The SUBSCRIBE sent during the hang is answered now, before this later one.
    await answered(source);
    await client.publish(releasedChannel(name), '11:i1.1');
    expect(await watcher.next()).toEqual({
      event: { kind: 'released', token: 11n, attempt: 'i1.1' },
      serverId: 'hung',
    });
  });

  it('notices a hung server by its heartbeat, and resubscribes once it answers again', async () => {
    const server = await startServer();
    const source = eventSource({ servers: [{ host, port: server.port, id: 'silent' }], heartbeatIntervalMs: 100 });
    await checkOf(source, 'silent', settingsRead);
    const name = freshName();
    const watcher = recorder();
    await source.watch(name, watcher.listener);
    server.pause();
    try {
      const check = await checkOf(source, 'silent', (current) => !current.connected);
      expect(check.problem).toContain('no answer to PING');
    } finally {
      server.resume();
    }
    expect(await watcher.next()).toEqual({ event: { kind: 'resubscribed' }, serverId: 'silent' });
    await connectRedisClient(server).publish(releasedChannel(name), '12:i1.1');
    expect(await watcher.next()).toEqual({
      event: { kind: 'released', token: 12n, attempt: 'i1.1' },
      serverId: 'silent',
    });
  });
});

/**
 * Timers and sockets that ioredis or RedisLockEvents create from now on, as
 * long as they are alive: what close() must end. (Counting every handle in
 * the process would count Jest's own, which come and go.)
 */
function trackHandles(): { alive(): Promise<string[]>; stop(): void } {
  const alive = new Map<number, string>();
  const hook = createHook({
    init(asyncId, type) {
      if (type !== 'Timeout' && type !== 'TCPWRAP') return;
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 50;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = stackTraceLimit;
      const creator = stack.split('\n').find((line) => /ioredis|redis-lock-events\.ts/.test(line));
      if (creator !== undefined) alive.set(asyncId, `${type} from ${creator.trim()}`);
    },
    destroy(asyncId) {
      alive.delete(asyncId);
    },
  }).enable();
  return {
    async alive() {
      // Closed sockets are released in the close phase of the event loop: let it come round.
      for (let turn = 0; turn < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      return [...alive.values()];
    },
    stop: () => hook.disable(),
  };
}

describe('close', () => {
  // The other sources' reconnections would create and end handles while these tests count them.
  beforeAll(() => Promise.all(eventSources.map((source) => source.close())));

  it('ends the connections to servers up and down, and leaves no socket or timer behind', async () => {
    const downPort = await freePort(host);
    const handles = trackHandles();
    try {
      const source = new RedisLockEvents({
        servers: [
          { host, port: redis.port, id: 'up' },
          { host, port: downPort, id: 'down' },
        ],
      });
      await checkOf(source, 'up', settingsRead);
      await checkOf(source, 'down', (check) => check.problem?.includes('ECONNREFUSED') ?? false);
      await source.watch(freshName(), () => undefined);
      expect(await handles.alive()).not.toEqual([]);
      await source.close();
      expect(await handles.alive()).toEqual([]);
      expect(source.serverChecks().map((check) => check.connected)).toEqual([false, false]);
    } finally {
      handles.stop();
    }
  });

  it('ends a connection to a hung server at once, leaving nothing behind', async () => {
    const hungServer = await startServer();
    const handles = trackHandles();
    try {
      const source = new RedisLockEvents({ servers: [{ host, port: hungServer.port, id: 'hung' }] });
      await checkOf(source, 'hung', settingsRead);
      await source.watch(freshName(), () => undefined);
      hungServer.pause();
      const started = performance.now();
      await source.close();
      expect(performance.now() - started).toBeLessThan(timerSlackMs);
      expect(await handles.alive()).toEqual([]);
    } finally {
      handles.stop();
      hungServer.resume();
    }
  });
});

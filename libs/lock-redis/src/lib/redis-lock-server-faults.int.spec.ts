// RedisLockServer when its server crashes, stops, hangs or holds data the
// scripts did not write: every call answers within its timeout, and a
// server it cannot trust is unavailable, never a wrong answer.
import { createHash } from 'node:crypto';
import { UnavailableError } from '@bulwark/errors';
import {
  closeRedisClients,
  connectRedisClient,
  freePort,
  killAllProcesses,
  startRedisServer,
  type RedisServer,
} from '@bulwark/testing';
import type Redis from 'ioredis';
import { fenceKey, holderKey, queueKey, releasedChannel, ticketKey, waiterLeasesKey } from './lock-keys';
import { grantScript } from './lock-scripts';
import { RedisLockServer } from './redis-lock-server';
import { RedisLockServers } from './redis-lock-servers';

const timeoutMs = 2_000;
const shortTimeoutMs = 300;
/** What a loaded 2-core machine may add to a timer. */
const timerSlackMs = 250;
const ttlMs = 60_000;

let redis: RedisServer;
let server: RedisLockServer;
const groups: RedisLockServers[] = [];
let lockCount = 0;

function freshName(): string {
  lockCount += 1;
  return `fault-${lockCount}`;
}

/** A group of one, which marks its new server (a lone RedisLockServer runs no script on a server without its mark). */
function lockServerOn(port: number, options: { inFlightMax?: number } = {}): RedisLockServer {
  const group = new RedisLockServers({ servers: [{ host: '127.0.0.1', port, ...options }] });
  groups.push(group);
  return group.servers[0] as RedisLockServer;
}

/** The rejection of call, with how long it took to come. */
async function failureOf(call: () => Promise<unknown>): Promise<{ error: unknown; elapsedMs: number }> {
  const started = performance.now();
  const error = await call().then(
    () => new Error('the call succeeded'),
    (thrown: unknown) => thrown,
  );
  return { error, elapsedMs: performance.now() - started };
}

beforeAll(async () => {
  redis = await startRedisServer();
  server = lockServerOn(redis.port);
  expect(await groups[0]?.waitUntilCounted(timeoutMs)).toBe(true);
});

afterAll(async () => {
  await Promise.all(groups.map((group) => group.close()));
  await closeRedisClients();
  await redis.remove();
  await killAllProcesses();
});

describe('a crash', () => {
  it('keeps the fence (appendfsync always), so a token granted before it stays stale after it', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 9007199254740993n, 'i1.1', ttlMs, timeoutMs);
    await server.release(name, 'alice', 9007199254740993n, timeoutMs);
    await redis.kill();
    await redis.restart();
    await server.waitUntilConnected(timeoutMs);
    expect(await server.inspect(name, timeoutMs)).toMatchObject({ fence: 9007199254740993n, holder: undefined });
    expect(await server.grant(name, 'bob', 9007199254740993n, 'i1.1', ttlMs, timeoutMs)).toEqual({
      outcome: 'stale',
      fence: 9007199254740993n,
    });
  });

  it('keeps a holder with the rest of its lease', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 3n, 'i1.1', ttlMs, timeoutMs);
    await redis.kill();
    await redis.restart();
    await server.waitUntilConnected(timeoutMs);
    const state = await server.inspect(name, timeoutMs);
    expect(state).toMatchObject({ fence: 3n, holder: { owner: 'alice', token: 3n } });
    expect(state.holder?.remainingTtlMs).toBeLessThanOrEqual(ttlMs);
    expect(state.holder?.remainingTtlMs).toBeGreaterThan(ttlMs - 10_000);
  });

  it('keeps the queue, its leases and the ticket counter', async () => {
    const name = freshName();
    await server.enqueue(name, 'w-a', 9007199254740991n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-b', 3n, ttlMs, timeoutMs);
    await redis.kill();
    await redis.restart();
    await server.waitUntilConnected(timeoutMs);
    expect(await server.inspect(name, timeoutMs)).toEqual({
      fence: 0n,
      ticket: 9007199254740991n,
      holder: undefined,
      queue: { head: 'w-b', length: 2 },
    });
    // The counter came back too: a join at it is refused.
    expect(await server.enqueue(name, 'w-c', 9007199254740991n, ttlMs, timeoutMs, { join: true })).toEqual({
      outcome: 'stale',
      counter: 9007199254740991n,
    });
  });
});

describe('a restart', () => {
  it('is followed by a reconnection, and the scripts run again though the script cache is empty', async () => {
    const grantSha = createHash('sha1').update(grantScript).digest('hex');
    await server.grant(freshName(), 'alice', 1n, 'i1.1', ttlMs, timeoutMs);
    expect(await connectRedisClient(redis).script('EXISTS', grantSha)).toEqual([1]);
    await redis.stop();
    await redis.restart();
    const raw = connectRedisClient(redis);
    expect(await raw.script('EXISTS', grantSha)).toEqual([0]);
    await server.waitUntilConnected(timeoutMs);
    expect(await server.grant(freshName(), 'alice', 1n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'granted' });
    expect(await raw.script('EXISTS', grantSha)).toEqual([1]);
  });
});

describe('a script cache emptied under a live connection (SCRIPT FLUSH)', () => {
  it('fails the call as unavailable with nothing run, never resent behind later calls, and loads the scripts again', async () => {
    const name = freshName();
    const raw = connectRedisClient(redis);
    await raw.script('FLUSH');
    const { error } = await failureOf(() => server.grant(name, 'alice', 1n, 'i1.1', ttlMs, timeoutMs));
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/lost its scripts \(nothing ran\)/);
    // A release sent right after finds nothing to free, and the grant does not run later behind it.
    expect(await server.release(name, 'alice', 1n, timeoutMs)).toBe(false);
    expect(await raw.exists(holderKey(name), fenceKey(name))).toBe(0);
    // Loaded again by then: the next grant runs.
    expect(await server.grant(name, 'alice', 1n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'granted' });
  });
});

describe('a server that is down', () => {
  it('answers UnavailableError naming the server at once, for every call, and serves again once back', async () => {
    const name = freshName();
    await redis.stop();
    try {
      const calls = [
        () => server.inspect(name, timeoutMs),
        () => server.grant(name, 'alice', 1n, 'i1.1', ttlMs, timeoutMs),
        () => server.release(name, 'alice', 1n, timeoutMs),
        () => server.refresh(name, 'alice', 1n, ttlMs, timeoutMs),
        () => server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs),
        () => server.leave(name, 'w-a', timeoutMs),
      ];
      for (const call of calls) {
        const { error, elapsedMs } = await failureOf(call);
        expect(error).toBeInstanceOf(UnavailableError);
        expect((error as Error).message).toContain(`lock server ${server.id}: `);
        expect(elapsedMs).toBeLessThan(timerSlackMs);
      }
    } finally {
      await redis.restart();
    }
    await server.waitUntilConnected(timeoutMs);
    expect(await server.grant(name, 'alice', 1n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'granted' });
  });

  it('that was never up answers UnavailableError with the connection error, and so does waiting for it', async () => {
    const nobody = lockServerOn(await freePort());
    const { error, elapsedMs } = await failureOf(() => nobody.inspect('a', timeoutMs));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(elapsedMs).toBeLessThan(timerSlackMs);
    const waited = await failureOf(() => nobody.waitUntilConnected(shortTimeoutMs));
    expect(waited.error).toBeInstanceOf(UnavailableError);
    expect((waited.error as Error).message).toMatch(/not connected within 300 ms: .*ECONNREFUSED/);
    expect(waited.elapsedMs).toBeLessThan(shortTimeoutMs + timerSlackMs);
  });
});

describe('a server that hangs', () => {
  it('costs at most timeoutMs, and a grant that timed out may still take effect once it runs again', async () => {
    const name = freshName();
    redis.pause();
    let failure: { error: unknown; elapsedMs: number };
    try {
      failure = await failureOf(() => server.grant(name, 'alice', 7n, 'i1.1', ttlMs, shortTimeoutMs));
    } finally {
      redis.resume();
    }
    expect(failure.error).toBeInstanceOf(UnavailableError);
    expect((failure.error as Error).message).toContain(`lock server ${server.id}: grant: no answer within 300 ms`);
    expect(failure.elapsedMs).toBeGreaterThanOrEqual(shortTimeoutMs - 1);
    expect(failure.elapsedMs).toBeLessThan(shortTimeoutMs + timerSlackMs);
    // The script was sent before the server stopped answering: it runs when the server resumes.
    expect(await server.inspect(name, timeoutMs)).toMatchObject({ fence: 7n, holder: { owner: 'alice', token: 7n } });
  });

  it('fails calls at once past inFlightMax calls awaiting an answer', async () => {
    const bounded = lockServerOn(redis.port, { inFlightMax: 2 });
    await bounded.waitUntilConnected(timeoutMs);
    redis.pause();
    let overflow: { error: unknown; elapsedMs: number };
    try {
      const unanswered = await Promise.all([
        failureOf(() => bounded.inspect('a', shortTimeoutMs)),
        failureOf(() => bounded.inspect('b', shortTimeoutMs)),
      ]);
      for (const { error } of unanswered) expect((error as Error).message).toMatch(/no answer within/);
      overflow = await failureOf(() => bounded.inspect('c', timeoutMs));
    } finally {
      redis.resume();
    }
    expect(overflow.error).toBeInstanceOf(UnavailableError);
    expect((overflow.error as Error).message).toContain('inspect: 2 calls still await an answer');
    expect(overflow.elapsedMs).toBeLessThan(timerSlackMs);
  });
});

describe('a server holding what the scripts did not write', () => {
  it.each<[string, (raw: Redis, name: string) => Promise<unknown>]>([
    ['a holder value without separator', (raw, name) => raw.set(holderKey(name), 'alice', 'PX', ttlMs)],
    ['a holder token that is not canonical', (raw, name) => raw.set(holderKey(name), '007:i1.1:alice', 'PX', ttlMs)],
    ['a holder without an attempt (token:owner)', (raw, name) => raw.set(holderKey(name), '1:alice', 'PX', ttlMs)],
    ['a holder with an empty attempt', (raw, name) => raw.set(holderKey(name), '1::alice', 'PX', ttlMs)],
    ['a holder attempt with a space', (raw, name) => raw.set(holderKey(name), '1:i 1:alice', 'PX', ttlMs)],
    ['a holder without TTL', (raw, name) => raw.set(holderKey(name), '1:i1.1:alice')],
    ['a fence that is not a decimal', (raw, name) => raw.set(fenceKey(name), 'seven')],
    ['a fence above uint64', (raw, name) => raw.set(fenceKey(name), '18446744073709551616')],
  ])('is unavailable to inspect and grant, which write nothing: %s', async (_, store) => {
    const name = freshName();
    const raw = connectRedisClient(redis);
    await store(raw, name);
    const before = await raw.mget(holderKey(name), fenceKey(name));
    for (const call of [
      () => server.inspect(name, timeoutMs),
      () => server.grant(name, 'bob', 2n ** 64n - 1n, 'i1.1', ttlMs, timeoutMs),
    ]) {
      const { error } = await failureOf(call);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toContain(`lock server ${server.id}: `);
    }
    expect(await raw.mget(holderKey(name), fenceKey(name))).toEqual(before);
  });

  it.each([
    ['without separator', 'alice'],
    ['without an attempt (token:owner)', '1:alice'],
    ['with an empty attempt', '1::alice'],
    ['with an attempt of another alphabet', '1:i1/1:alice'],
    ['with a token that is not a decimal', 'x:i1.1:alice'],
  ])(
    'is unavailable to release and refresh, which write and publish nothing, for a holder value %s',
    async (_, value) => {
      const name = freshName();
      const raw = connectRedisClient(redis);
      await raw.set(holderKey(name), value, 'PX', ttlMs);
      const released: string[] = [];
      const subscriber = connectRedisClient(redis);
      subscriber.on('message', (_channel: string, message: string) => released.push(message));
      await subscriber.subscribe(releasedChannel(name));
      for (const call of [
        () => server.release(name, 'alice', 1n, timeoutMs),
        () => server.release(name, 'alice', 1n, timeoutMs, { attempt: 'i1.1' }),
        () => server.refresh(name, 'alice', 1n, 1_000, timeoutMs),
      ]) {
        const { error } = await failureOf(call);
        expect(error).toBeInstanceOf(UnavailableError);
        expect((error as Error).message).toContain('the holder is not token:attempt:owner');
      }
      expect(await raw.get(holderKey(name))).toBe(value);
      expect(await raw.pttl(holderKey(name))).toBeGreaterThan(1_000);
      // A PUBLISH from the scripts would reach the subscriber before this one does.
      const markerHeard = new Promise<void>((resolve) =>
        subscriber.on('message', (_channel: string, message: string) => message === 'marker' && resolve()),
      );
      await raw.publish(releasedChannel(name), 'marker');
      await markerHeard;
      expect(released).toEqual(['marker']);
    },
  );

  type QueueCall = 'inspect' | 'grant' | 'enqueue' | 'renew' | 'leave';
  it.each<[string, (raw: Redis, name: string) => Promise<unknown>, QueueCall[]]>([
    [
      'a queued waiter without a lease',
      (raw, name) => raw.zadd(queueKey(name), 1, 'w-x'),
      ['inspect', 'grant', 'enqueue', 'leave'],
    ],
    [
      'a waiter whose score is not a ticket',
      (raw, name) => raw.zadd(queueKey(name), 1.5, 'w-x').then(() => raw.zadd(waiterLeasesKey(name), 2 ** 50, 'w-x')),
      ['renew'],
    ],
    [
      'a ticket counter that is not a decimal',
      (raw, name) => raw.set(ticketKey(name), '1.0'),
      ['inspect', 'enqueue', 'renew'],
    ],
    ['a ticket counter past 2^53 - 1', (raw, name) => raw.set(ticketKey(name), '9007199254740992'), ['inspect']],
    [
      'a queue of another type',
      (raw, name) => raw.set(queueKey(name), 'w-x'),
      ['inspect', 'grant', 'enqueue', 'renew', 'leave'],
    ],
  ])('is unavailable to the queue calls that read it, which write nothing: %s', async (_, store, failing) => {
    const name = freshName();
    const raw = connectRedisClient(redis);
    await store(raw, name);
    const keys = [holderKey(name), fenceKey(name), ticketKey(name), queueKey(name), waiterLeasesKey(name)];
    const before = await Promise.all(keys.map((key) => raw.dump(key)));
    const calls: Record<QueueCall, () => Promise<unknown>> = {
      inspect: () => server.inspect(name, timeoutMs),
      grant: () => server.grant(name, 'bob', 1n, 'i1.1', ttlMs, timeoutMs, 'w-y'),
      enqueue: () => server.enqueue(name, 'w-y', 3n, ttlMs, timeoutMs),
      renew: () => server.enqueue(name, 'w-x', 3n, ttlMs, timeoutMs),
      leave: () => server.leave(name, 'w-x', timeoutMs),
    };
    for (const call of failing) {
      const { error } = await failureOf(calls[call]);
      expect({ call, error }).toEqual({ call, error: expect.any(UnavailableError) });
      expect((error as Error).message).toContain(`lock server ${server.id}: ${call === 'renew' ? 'enqueue' : call}: `);
    }
    expect(await Promise.all(keys.map((key) => raw.dump(key)))).toEqual(before);
  });

  it('is unavailable to every call when the holder key has another type', async () => {
    const name = freshName();
    await connectRedisClient(redis).hset(holderKey(name), 'owner', 'alice');
    for (const call of [
      () => server.inspect(name, timeoutMs),
      () => server.grant(name, 'alice', 1n, 'i1.1', ttlMs, timeoutMs),
      () => server.release(name, 'alice', 1n, timeoutMs),
      () => server.refresh(name, 'alice', 1n, ttlMs, timeoutMs),
      () => server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs),
      () => server.leave(name, 'w-a', timeoutMs),
    ]) {
      const { error } = await failureOf(call);
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toMatch(/WRONGTYPE/);
    }
  });
});

describe('close', () => {
  it('ends the connection: calls fail from then on, and waiting to connect too', async () => {
    const closing = lockServerOn(redis.port);
    await closing.waitUntilConnected(timeoutMs);
    await closing.close();
    const { error } = await failureOf(() => closing.inspect('a', timeoutMs));
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain('not connected (end)');
    await expect(closing.waitUntilConnected(timeoutMs)).rejects.toThrow(/closed/);
  });
});

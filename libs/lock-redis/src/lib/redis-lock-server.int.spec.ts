// Every outcome of every script, against a real redis-server.
import { InvalidArgumentError } from '@bulwark/errors';
import {
  closeRedisClients,
  connectRedisClient,
  killAllProcesses,
  startRedisServer,
  type RedisServer,
} from '@bulwark/testing';
import type Redis from 'ioredis';
import { MemoryLockServer, ticketMax, tokenMax } from '@bulwark/lock-core';
import { claimsKey, fenceKey, holderKey, queueKey, releasedChannel, ticketKey, waiterLeasesKey } from './lock-keys';
import { RedisLockServer } from './redis-lock-server';
import { RedisLockServers } from './redis-lock-servers';

const timeoutMs = 2_000;
const ttlMs = 60_000;
const messageWaitMs = 5_000;

let redis: RedisServer;
let group: RedisLockServers;
let server: RedisLockServer;
let raw: Redis;
let lockCount = 0;

/** A lock name no other test uses. */
function freshName(): string {
  lockCount += 1;
  return `lock-${lockCount}`;
}

/** Every message published on channel from now on, in order, and the next one not taken yet. */
async function listen(channel: string): Promise<{ messages: string[]; next(): Promise<string> }> {
  const subscriber = connectRedisClient(redis);
  const messages: string[] = [];
  let taken = 0;
  let onMessage: (() => void) | undefined;
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    messages.push(message);
    onMessage?.();
  });
  await subscriber.subscribe(channel);
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const take = () => {
        const message = messages[taken];
        if (message === undefined) return false;
        taken += 1;
        clearTimeout(timer);
        onMessage = undefined;
        resolve(message);
        return true;
      };
      const timer = setTimeout(() => {
        onMessage = undefined;
        reject(new Error(`nothing on ${channel} within ${messageWaitMs} ms`));
      }, messageWaitMs);
      if (!take()) onMessage = take;
    });
  return { messages, next };
}

beforeAll(async () => {
  redis = await startRedisServer();
  // A group of one marks its new server: a lone RedisLockServer runs no script on a server without its mark.
  group = new RedisLockServers({ servers: [{ host: '127.0.0.1', port: redis.port }] });
  [server] = group.servers as [RedisLockServer];
  expect(await group.waitUntilCounted(timeoutMs)).toBe(true);
  raw = connectRedisClient(redis);
});

afterAll(async () => {
  await group.close();
  await closeRedisClients();
  await redis.remove();
  await killAllProcesses();
});

describe('RedisLockServer', () => {
  it('is named by host:port unless given an id', async () => {
    expect(server.id).toBe(`127.0.0.1:${redis.port}`);
    const named = new RedisLockServer({ host: '127.0.0.1', port: redis.port, id: 'redis-b' });
    expect(named.id).toBe('redis-b');
    await named.close();
  });
});

describe('inspect', () => {
  it('reports fence 0 and no holder for a lock never granted', async () => {
    expect(await server.inspect(freshName(), timeoutMs)).toEqual({
      fence: 0n,
      ticket: 0n,
      holder: undefined,
      queue: { head: undefined, length: 0 },
    });
  });

  it('reports the fence and the holder with its remaining TTL', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    const state = await server.inspect(name, timeoutMs);
    expect(state).toMatchObject({ fence: 5n, holder: { owner: 'alice', token: 5n } });
    expect(state.holder?.remainingTtlMs).toBeGreaterThan(ttlMs - 5_000);
    expect(state.holder?.remainingTtlMs).toBeLessThanOrEqual(ttlMs);
  });

  it('reports the fence without a holder once released', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    await server.release(name, 'alice', 5n, timeoutMs);
    expect(await server.inspect(name, timeoutMs)).toMatchObject({ fence: 5n, holder: undefined });
  });

  it('reports the ticket counter and the queue', async () => {
    const name = freshName();
    await server.enqueue(name, 'w-b', 3n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-a', 2n, ttlMs, timeoutMs);
    expect(await server.inspect(name, timeoutMs)).toEqual({
      fence: 0n,
      ticket: 3n,
      holder: undefined,
      queue: { head: 'w-a', length: 2 },
    });
  });
});

describe('grant', () => {
  it('grants a free lock whose fence is below the token: the fence becomes the token, the holder gets the TTL', async () => {
    const name = freshName();
    expect(await server.grant(name, 'alice', 5n, 'i1.1', 1_000, timeoutMs)).toEqual({ outcome: 'granted' });
    expect(await raw.get(fenceKey(name))).toBe('5');
    expect(await raw.pttl(fenceKey(name))).toBe(-1);
    expect(await raw.get(holderKey(name))).toBe('5:i1.1:alice');
    const holderTtlMs = await raw.pttl(holderKey(name));
    expect(holderTtlMs).toBeGreaterThan(0);
    expect(holderTtlMs).toBeLessThanOrEqual(1_000);
  });

  it('answers held, changing nothing, while another owner holds the lock', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    const grant = await server.grant(name, 'bob', 6n, 'i1.1', 1_000, timeoutMs);
    expect(grant).toMatchObject({ outcome: 'held', fence: 5n, holder: { owner: 'alice', token: 5n } });
    expect(await raw.get(fenceKey(name))).toBe('5');
    expect(await raw.get(holderKey(name))).toBe('5:i1.1:alice');
    expect(await raw.pttl(holderKey(name))).toBeGreaterThan(1_000);
  });

  it('answers held with the caller itself when the same grant was applied before (a retry)', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    expect(await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs)).toMatchObject({
      outcome: 'held',
      fence: 5n,
      holder: { owner: 'alice', token: 5n, attempt: 'i1.1' },
    });
  });

  it("answers held with the first attempt's grant to another attempt of the same owner on the same token", async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    expect(await server.grant(name, 'alice', 5n, 'i2.4', ttlMs, timeoutMs)).toMatchObject({
      outcome: 'held',
      holder: { owner: 'alice', token: 5n, attempt: 'i1.1' },
    });
    expect(await raw.get(holderKey(name))).toBe('5:i1.1:alice');
  });

  it('answers stale, changing nothing, when the fence has reached or passed the token', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    await server.release(name, 'alice', 5n, timeoutMs);
    expect(await server.grant(name, 'bob', 5n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 5n });
    expect(await server.grant(name, 'bob', 4n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 5n });
    expect(await raw.exists(holderKey(name))).toBe(0);
    expect(await raw.get(fenceKey(name))).toBe('5');
  });

  it('answers stale to token 0, which no fence is below', async () => {
    const name = freshName();
    expect(await server.grant(name, 'alice', 0n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 0n });
    expect(await raw.exists(holderKey(name), fenceKey(name))).toBe(0);
  });

  it('compares tokens above 2^53 exactly, where doubles cannot tell them apart', async () => {
    const name = freshName();
    const grantAndRelease = async (token: bigint) => {
      const grant = await server.grant(name, 'alice', token, 'i1.1', ttlMs, timeoutMs);
      await server.release(name, 'alice', token, timeoutMs);
      return grant;
    };
    expect(await grantAndRelease(9007199254740992n)).toEqual({ outcome: 'granted' });
    // 2^53 + 1 is 2^53 as a double.
    expect(await grantAndRelease(9007199254740993n)).toEqual({ outcome: 'granted' });
    expect(await grantAndRelease(tokenMax)).toEqual({ outcome: 'granted' });
    expect(await server.grant(name, 'bob', 9007199254740993n, 'i1.1', ttlMs, timeoutMs)).toEqual({
      outcome: 'stale',
      fence: 18446744073709551615n,
    });
    expect(await server.grant(name, 'bob', 18446744073709551614n, 'i1.1', ttlMs, timeoutMs)).toEqual({
      outcome: 'stale',
      fence: tokenMax,
    });
    expect(await raw.get(fenceKey(name))).toBe('18446744073709551615');
  });

  it('compares tokens of different lengths by value, not as text', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 9n, 'i1.1', ttlMs, timeoutMs);
    await server.release(name, 'alice', 9n, timeoutMs);
    expect(await server.grant(name, 'alice', 10n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'granted' });
    await server.release(name, 'alice', 10n, timeoutMs);
    expect(await server.grant(name, 'alice', 9n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 10n });
  });
});

describe('release', () => {
  it('frees the lock of its holder, keeps the fence and publishes the token and attempt', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await server.grant(name, 'alice', 9007199254740993n, 'lock-1.x7.12', ttlMs, timeoutMs);
    expect(await server.release(name, 'alice', 9007199254740993n, timeoutMs)).toBe(true);
    expect(await released.next()).toBe('9007199254740993:lock-1.x7.12');
    expect(await raw.exists(holderKey(name))).toBe(0);
    expect(await raw.get(fenceKey(name))).toBe('9007199254740993');
  });

  it('changes nothing and publishes nothing for another owner, another token or a free lock', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    expect(await server.release(name, 'alice', 5n, timeoutMs)).toBe(false);
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    expect(await server.release(name, 'bob', 5n, timeoutMs)).toBe(false);
    expect(await server.release(name, 'alice', 4n, timeoutMs)).toBe(false);
    expect(await server.release(name, 'alice', 6n, timeoutMs)).toBe(false);
    expect(await raw.get(holderKey(name))).toBe('5:i1.1:alice');
    expect(await server.release(name, 'alice', 5n, timeoutMs)).toBe(true);
    // Messages arrive in publishing order, so any from the refused releases would come first.
    expect(await released.next()).toBe('5:i1.1');
    expect(released.messages).toEqual(['5:i1.1']);
    expect(await server.release(name, 'alice', 5n, timeoutMs)).toBe(false);
  });

  it('with an attempt, frees exactly that grant: same owner and token under another attempt stay', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    // Another attempt of alice's on token 5 (it took the token elsewhere) undoes itself here.
    expect(await server.release(name, 'alice', 5n, timeoutMs, { attempt: 'i2.1' })).toBe(false);
    expect(await server.release(name, 'alice', 5n, timeoutMs, { attempt: 'i1.10' })).toBe(false);
    expect(await server.release(name, 'alice', 5n, timeoutMs, { attempt: 'i1' })).toBe(false);
    expect(await server.release(name, 'bob', 5n, timeoutMs, { attempt: 'i1.1' })).toBe(false);
    expect(await server.release(name, 'alice', 6n, timeoutMs, { attempt: 'i1.1' })).toBe(false);
    expect(await raw.get(holderKey(name))).toBe('5:i1.1:alice');
    expect(await server.release(name, 'alice', 5n, timeoutMs, { attempt: 'i1.1' })).toBe(true);
    expect(await released.next()).toBe('5:i1.1');
    expect(released.messages).toEqual(['5:i1.1']);
    expect(await raw.exists(holderKey(name))).toBe(0);
  });
});

describe('refresh', () => {
  it("sets the holder TTL to ttlMs from now, answering the holder's attempt", async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'lock-2.b.3', 1_000, timeoutMs);
    expect(await server.refresh(name, 'alice', 5n, ttlMs, timeoutMs)).toBe('lock-2.b.3');
    expect(await raw.pttl(holderKey(name))).toBeGreaterThan(ttlMs - 5_000);
    expect(await server.refresh(name, 'alice', 5n, 2_000, timeoutMs)).toBe('lock-2.b.3');
    expect(await raw.pttl(holderKey(name))).toBeLessThanOrEqual(2_000);
    expect(await raw.get(holderKey(name))).toBe('5:lock-2.b.3:alice');
  });

  it('changes nothing for another owner or token, or once the lock is free', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'i1.1', 5_000, timeoutMs);
    expect(await server.refresh(name, 'bob', 5n, ttlMs, timeoutMs)).toBeUndefined();
    expect(await server.refresh(name, 'alice', 6n, ttlMs, timeoutMs)).toBeUndefined();
    expect(await raw.pttl(holderKey(name))).toBeLessThanOrEqual(5_000);
    await server.release(name, 'alice', 5n, timeoutMs);
    expect(await server.refresh(name, 'alice', 5n, ttlMs, timeoutMs)).toBeUndefined();
    expect(await raw.exists(holderKey(name))).toBe(0);
  });
});

describe('owners', () => {
  it.each([
    ['unicode', 'ünïcødé 🔒 锁'],
    ['separators', '::'],
    ['a token and separator', '12:3'],
    ['an attempt-looking prefix', 'i1.1:bob'],
    ['newlines and spaces', ' a\nb\r\n '],
    ['empty', ''],
    ['128 characters', 'ö'.repeat(64) + '🔒'.repeat(32)],
  ])('come back exactly as granted, and only the exact owner releases or refreshes: %s', async (_, owner) => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await server.grant(name, owner, 7n, 'i1.1', ttlMs, timeoutMs);
    expect((await server.inspect(name, timeoutMs)).holder).toMatchObject({ owner, token: 7n, attempt: 'i1.1' });
    expect(await server.release(name, `${owner}x`, 7n, timeoutMs)).toBe(false);
    expect(await server.release(name, `${owner}:`, 7n, timeoutMs, { attempt: 'i1.1' })).toBe(false);
    expect(await server.refresh(name, `x${owner}`, 7n, ttlMs, timeoutMs)).toBeUndefined();
    expect(await server.refresh(name, owner, 7n, ttlMs, timeoutMs)).toBe('i1.1');
    expect(await server.release(name, owner, 7n, timeoutMs, { attempt: 'i1.1' })).toBe(true);
    expect(await released.next()).toBe('7:i1.1');
  });

  it('are told apart from other token, attempt and owner triples that would concatenate alike', async () => {
    const name = freshName();
    // 12:i1.1:3 could be read as owner 'i1.1:3' of token 12 under another attempt, were attempts allowed ':'.
    await server.grant(name, '3', 12n, 'i1.1', ttlMs, timeoutMs);
    expect(await server.release(name, '23', 1n, timeoutMs)).toBe(false);
    expect(await server.release(name, 'i1.1:3', 12n, timeoutMs)).toBe(false);
    expect(await server.release(name, '1:3', 12n, timeoutMs, { attempt: 'i1' })).toBe(false);
    expect(await server.refresh(name, ':3', 12n, ttlMs, timeoutMs)).toBeUndefined();
    expect(await server.refresh(name, '.1:3', 12n, ttlMs, timeoutMs)).toBeUndefined();
    expect(await server.release(name, '3', 12n, timeoutMs)).toBe(true);
  });
});

describe('leases', () => {
  it('end when the TTL runs out, leaving the fence: a higher token is granted, the same one is stale', async () => {
    const name = freshName();
    const expirations = await listen('__keyevent@0__:expired');
    await server.grant(name, 'alice', 5n, 'i1.1', 50, timeoutMs);
    // Keyspace notifications are on (--notify-keyspace-events Ex): await the expiry.
    let expired = await expirations.next();
    while (expired !== holderKey(name)) expired = await expirations.next();
    expect(await server.inspect(name, timeoutMs)).toMatchObject({ fence: 5n, holder: undefined });
    expect(await server.grant(name, 'bob', 5n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 5n });
    expect(await server.grant(name, 'bob', 6n, 'i1.1', ttlMs, timeoutMs)).toEqual({ outcome: 'granted' });
  });
});

/** The server's clock in ms, as the scripts read it. */
async function serverNowMs(): Promise<number> {
  const [seconds, micros] = await raw.time();
  return Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
}

describe('enqueue', () => {
  it('queues the waiter with its ticket as score, a lease from the server clock, and raises the counter', async () => {
    const name = freshName();
    const beforeMs = await serverNowMs();
    expect(await server.enqueue(name, 'w-a', 7n, 30_000, timeoutMs)).toMatchObject({
      outcome: 'queued',
      ticket: 7n,
      head: 'w-a',
      held: false,
    });
    const afterMs = await serverNowMs();
    expect(await raw.zrange(queueKey(name), 0, -1, 'WITHSCORES')).toEqual(['w-a', '7']);
    const leaseEndsAtMs = Number(await raw.zscore(waiterLeasesKey(name), 'w-a'));
    expect(leaseEndsAtMs).toBeGreaterThanOrEqual(beforeMs + 30_000);
    expect(leaseEndsAtMs).toBeLessThanOrEqual(afterMs + 30_000);
    expect(await raw.get(ticketKey(name))).toBe('7');
    expect(await raw.pttl(ticketKey(name))).toBe(-1);
  });

  it('gives a waiter queued already the ticket it renews with, renewing its lease, and only ever raises the counter', async () => {
    const name = freshName();
    await server.enqueue(name, 'w-a', 9n, 1_000, timeoutMs);
    const firstLeaseMs = Number(await raw.zscore(waiterLeasesKey(name), 'w-a'));
    expect(await server.enqueue(name, 'w-a', 12n, 60_000, timeoutMs)).toMatchObject({
      outcome: 'queued',
      ticket: 12n,
      head: 'w-a',
      held: false,
    });
    expect(Number(await raw.zscore(waiterLeasesKey(name), 'w-a'))).toBeGreaterThan(firstLeaseMs + 50_000);
    expect(await raw.zscore(queueKey(name), 'w-a')).toBe('12');
    // 12 then 9 then 10: compared as numbers, never as text ('9' > '12').
    expect(await raw.get(ticketKey(name))).toBe('12');
    await server.enqueue(name, 'w-b', 9n, 1_000, timeoutMs);
    await server.enqueue(name, 'w-c', 10n, 1_000, timeoutMs);
    expect(await raw.get(ticketKey(name))).toBe('12');
    await server.enqueue(name, 'w-d', 100n, 1_000, timeoutMs);
    expect(await raw.get(ticketKey(name))).toBe('100');
  });

  it('queues a join only with a ticket above the counter, compared as numbers, answering stale otherwise', async () => {
    const name = freshName();
    await server.enqueue(name, 'w-a', 12n, 1_000, timeoutMs, { join: true });
    expect(await server.enqueue(name, 'w-b', 12n, 1_000, timeoutMs, { join: true })).toEqual({
      outcome: 'stale',
      counter: 12n,
    });
    expect(await server.enqueue(name, 'w-b', 9n, 1_000, timeoutMs, { join: true })).toMatchObject({
      outcome: 'stale',
    });
    expect(await server.enqueue(name, 'w-b', 100n, 1_000, timeoutMs, { join: true })).toMatchObject({
      outcome: 'queued',
      ticket: 100n,
    });
    expect(await raw.zrange(queueKey(name), 0, -1)).toEqual(['w-a', 'w-b']);
  });

  it('holds tickets up to 2^53 - 1 exactly as scores', async () => {
    const name = freshName();
    expect(await server.enqueue(name, 'w-last', ticketMax, ttlMs, timeoutMs)).toMatchObject({ ticket: ticketMax });
    expect(await server.enqueue(name, 'w-before', ticketMax - 1n, ttlMs, timeoutMs)).toMatchObject({
      ticket: ticketMax - 1n,
      head: 'w-before',
    });
    expect(await server.inspect(name, timeoutMs)).toMatchObject({ ticket: ticketMax, queue: { head: 'w-before' } });
  });

  it('reports whether someone holds the lock', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 1n, 'i1.1', ttlMs, timeoutMs);
    expect(await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs)).toMatchObject({
      outcome: 'queued',
      ticket: 1n,
      head: 'w-a',
      held: true,
    });
  });

  it('puts a waiter queued again with its ticket back at its place', async () => {
    const name = freshName();
    await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs);
    // Its grant takes w-a out; undoing the grant queues it again with the same ticket.
    expect(await server.grant(name, 'a', 1n, 'i1.1', ttlMs, timeoutMs, 'w-a')).toEqual({ outcome: 'granted' });
    expect((await server.inspect(name, timeoutMs)).queue).toEqual({ head: 'w-b', length: 1 });
    expect(await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs)).toMatchObject({
      outcome: 'queued',
      ticket: 1n,
      head: 'w-a',
      held: true,
    });
    await server.release(name, 'a', 1n, timeoutMs);
    expect(await server.grant(name, 'b', 2n, 'i1.1', ttlMs, timeoutMs, 'w-b')).toMatchObject({
      outcome: 'queued',
      fence: 1n,
      head: 'w-a',
    });
  });
});

describe('the queue', () => {
  it('orders waiters of equal ticket by their bytes, exactly as MemoryLockServer does', async () => {
    const name = freshName();
    const memory = new MemoryLockServer('memory', () => 0);
    // U+FB01 sorts before U+1F512 in UTF-8 (and code points), after it in UTF-16 code units.
    const waiters = ['\u{1F512}', 'b', '\uFB01', 'ab', 'a', 'é', 'Z'];
    for (const waiterId of waiters) {
      await server.enqueue(name, waiterId, 4n, ttlMs, timeoutMs);
      await memory.enqueue(name, waiterId, 4n, ttlMs);
    }
    const redisOrder: string[] = [];
    const memoryOrder: string[] = [];
    for (let left = waiters.length; left > 0; left--) {
      const head = (await server.inspect(name, timeoutMs)).queue.head as string;
      redisOrder.push(head);
      memoryOrder.push((await memory.inspect(name)).queue.head as string);
      await server.leave(name, head, timeoutMs);
      await memory.leave(name, head);
    }
    expect(redisOrder).toEqual(['Z', 'a', 'ab', 'b', 'é', '\uFB01', '\u{1F512}']);
    expect(memoryOrder).toEqual(redisOrder);
  });

  it('drops waiters whose lease has ended, in every script that reads it', async () => {
    const name = freshName();
    await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-c', 3n, ttlMs, timeoutMs);
    // Leases that ended on the server's clock: w-a's a moment ago, w-b's exactly now or before.
    const nowMs = await serverNowMs();
    await raw.zadd(waiterLeasesKey(name), nowMs - 1, 'w-a', nowMs, 'w-b');
    expect(await server.inspect(name, timeoutMs)).toMatchObject({ ticket: 3n, queue: { head: 'w-c', length: 1 } });
    expect(await raw.zrange(queueKey(name), 0, -1)).toEqual(['w-c']);
    expect(await raw.zrange(waiterLeasesKey(name), 0, -1)).toEqual(['w-c']);
    await server.enqueue(name, 'w-d', 4n, ttlMs, timeoutMs);
    for (const [script, call] of [
      ['grant', () => server.grant(name, 'd', 1n, 'i1.1', ttlMs, timeoutMs, 'w-d')],
      ['enqueue', () => server.enqueue(name, 'w-e', 5n, ttlMs, timeoutMs)],
      ['leave', () => server.leave(name, 'w-e', timeoutMs)],
    ] as const) {
      // Back in line, with a lease that ended long ago.
      await server.enqueue(name, 'w-c', 3n, ttlMs, timeoutMs);
      await raw.zadd(waiterLeasesKey(name), 0, 'w-c');
      await call();
      expect({ script, queued: await raw.zscore(queueKey(name), 'w-c') }).toEqual({ script, queued: null });
    }
  });

  it('drops thousands of waiters whose lease ended in one call', async () => {
    const name = freshName();
    const pipeline = raw.pipeline();
    for (let index = 0; index < 1_200; index++) {
      pipeline.zadd(queueKey(name), index + 1, `w-${index}`);
      pipeline.zadd(waiterLeasesKey(name), 1, `w-${index}`);
    }
    await pipeline.exec();
    await server.enqueue(name, 'w-live', 5_000n, ttlMs, timeoutMs);
    expect((await server.inspect(name, timeoutMs)).queue).toEqual({ head: 'w-live', length: 1 });
    expect(await raw.zcard(waiterLeasesKey(name))).toBe(1);
  });
});

describe('grant with waiters', () => {
  it('refuses a caller without a waiter while anyone is queued (no barging), answering queued with the head', async () => {
    const name = freshName();
    await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs);
    expect(await server.grant(name, 'dave', 1n, 'i1.1', ttlMs, timeoutMs)).toMatchObject({
      outcome: 'queued',
      fence: 0n,
      head: 'w-a',
    });
    expect(await raw.exists(holderKey(name), fenceKey(name))).toBe(0);
  });

  it('grants only the head, and takes it out of the queue and its lease', async () => {
    const name = freshName();
    await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs);
    expect(await server.grant(name, 'b', 1n, 'i1.1', ttlMs, timeoutMs, 'w-b')).toMatchObject({
      outcome: 'queued',
      fence: 0n,
      head: 'w-a',
    });
    expect(await server.grant(name, 'a', 1n, 'i1.1', ttlMs, timeoutMs, 'w-a')).toEqual({ outcome: 'granted' });
    expect(await raw.zrange(queueKey(name), 0, -1)).toEqual(['w-b']);
    expect(await raw.zrange(waiterLeasesKey(name), 0, -1)).toEqual(['w-b']);
    expect(await raw.get(holderKey(name))).toBe('1:i1.1:a');
  });

  it('answers held before queued, and queued before stale', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs);
    expect(await server.grant(name, 'b', 3n, 'i1.1', ttlMs, timeoutMs, 'w-b')).toMatchObject({
      outcome: 'held',
      fence: 5n,
    });
    await server.release(name, 'alice', 5n, timeoutMs);
    expect(await server.grant(name, 'b', 3n, 'i1.1', ttlMs, timeoutMs, 'w-b')).toMatchObject({
      outcome: 'queued',
      fence: 5n,
      head: 'w-a',
    });
    expect(await server.grant(name, 'a', 3n, 'i1.1', ttlMs, timeoutMs, 'w-a')).toEqual({ outcome: 'stale', fence: 5n });
    expect(await raw.zrange(queueKey(name), 0, -1)).toEqual(['w-a']);
  });

  it('grants a waiter not queued here where nobody waits', async () => {
    expect(await server.grant(freshName(), 'a', 1n, 'i1.1', ttlMs, timeoutMs, 'w-elsewhere')).toEqual({
      outcome: 'granted',
    });
  });
});

describe('leave', () => {
  it('takes the waiter out of the queue and its lease, answering whether it was queued', async () => {
    const name = freshName();
    await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs);
    expect(await server.leave(name, 'w-b', timeoutMs)).toBe(true);
    expect(await server.leave(name, 'w-b', timeoutMs)).toBe(false);
    expect(await raw.zrange(queueKey(name), 0, -1)).toEqual(['w-a']);
    expect(await raw.zrange(waiterLeasesKey(name), 0, -1)).toEqual(['w-a']);
  });

  it('publishes left on the released channel when the head leaves a free lock, and only then', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-c', 3n, ttlMs, timeoutMs);
    // Not the head: nothing.
    await server.leave(name, 'w-b', timeoutMs);
    await server.leave(name, 'w-a', timeoutMs);
    expect(await released.next()).toBe('left');
    // The head leaves while the lock is held: the release will tell.
    await server.grant(name, 'c', 1n, 'i1.1', ttlMs, timeoutMs, 'w-c');
    await server.enqueue(name, 'w-d', 4n, ttlMs, timeoutMs);
    await server.leave(name, 'w-d', timeoutMs);
    await server.release(name, 'c', 1n, timeoutMs);
    // Messages arrive in publishing order: any from the quiet leaves would come before this one.
    expect(await released.next()).toBe('1:i1.1');
    expect(released.messages).toEqual(['left', '1:i1.1']);
  });
});

describe('handover', () => {
  const claimOf = (attempt: string, owner = 'bob') => ({ owner, attempt, ttlMs });
  /** Alice holds name under token 5 (attempt i1.1), and bob waits first in line as w-b (ticket 2, claim i2.1). */
  const aliceHoldsBobWaits = async (name: string) => {
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs, { claim: claimOf('i2.1') });
  };

  it("hands a released lock to the head's claim under the next token, raising the fence, and publishes both", async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await aliceHoldsBobWaits(name);
    await server.enqueue(name, 'w-c', 3n, ttlMs, timeoutMs, { claim: claimOf('i3.1', 'carol:with:colons') });
    expect(await server.release(name, 'alice', 5n, timeoutMs, { nextToken: 6n })).toBe(true);
    expect(await released.next()).toBe('5:i1.1:6:i2.1');
    const state = await server.inspect(name, timeoutMs);
    expect(state).toMatchObject({
      fence: 6n,
      holder: { owner: 'bob', token: 6n, attempt: 'i2.1' },
      queue: { head: 'w-c', length: 1 },
    });
    expect(state.holder?.remainingTtlMs).toBeGreaterThan(ttlMs - 5_000);
    expect(await raw.hkeys(claimsKey(name))).toEqual(['w-c']);
    // The next handover carries an owner with the separator in it intact.
    expect(await server.release(name, 'bob', 6n, timeoutMs, { nextToken: 7n })).toBe(true);
    expect(await released.next()).toBe('6:i2.1:7:i3.1');
    expect((await server.inspect(name, timeoutMs)).holder).toMatchObject({ owner: 'carol:with:colons', token: 7n });
  });

  it('frees the lock instead when the head left no claim, the fence is not below the next token, or nobody waits', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs, { claim: claimOf('i2.1') });
    expect(await server.release(name, 'alice', 5n, timeoutMs, { nextToken: 6n })).toBe(true);
    expect(await released.next()).toBe('5:i1.1');
    expect(await server.inspect(name, timeoutMs)).toMatchObject({ fence: 5n, holder: undefined });

    await server.leave(name, 'w-a', timeoutMs);
    await server.grant(name, 'alice', 7n, 'i1.2', ttlMs, timeoutMs, 'w-b');
    await server.enqueue(name, 'w-c', 3n, ttlMs, timeoutMs, { claim: claimOf('i3.1') });
    expect(await server.release(name, 'alice', 7n, timeoutMs, { nextToken: 7n })).toBe(true);
    expect(await server.inspect(name, timeoutMs)).toMatchObject({ fence: 7n, holder: undefined });

    await server.leave(name, 'w-c', timeoutMs);
    await server.grant(name, 'alice', 8n, 'i1.3', ttlMs, timeoutMs);
    expect(await server.release(name, 'alice', 8n, timeoutMs, { nextToken: 9n })).toBe(true);
    expect(await server.inspect(name, timeoutMs)).toMatchObject({ fence: 8n, holder: undefined });
    expect(released.messages).toEqual(['5:i1.1', 'left', '7:i1.2', 'left', '8:i1.3']);
  });

  it('skips a head whose lease ended, handing over to the next one, and drops its claim', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 'i1.1', ttlMs, timeoutMs);
    await server.enqueue(name, 'w-a', 1n, ttlMs, timeoutMs, { claim: claimOf('i1.2', 'gone') });
    await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs, { claim: claimOf('i2.1') });
    await raw.zadd(waiterLeasesKey(name), 0, 'w-a');
    await server.release(name, 'alice', 5n, timeoutMs, { nextToken: 6n });
    expect((await server.inspect(name, timeoutMs)).holder).toMatchObject({ owner: 'bob', attempt: 'i2.1' });
    expect(await raw.hlen(claimsKey(name))).toBe(0);
  });

  it('hands a lock that was free already to the head for a vouched release, answering false, publishing the handover', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await aliceHoldsBobWaits(name);
    // Alice's lease ended here (the holder key is gone, as when it expires): her late release still passes it on.
    await raw.del(holderKey(name));
    expect(await server.release(name, 'alice', 5n, timeoutMs, { nextToken: 6n, releaser: {} })).toBe(false);
    expect(await released.next()).toBe('handed:6:i2.1');
    expect(await server.inspect(name, timeoutMs)).toMatchObject({
      fence: 6n,
      holder: { owner: 'bob', token: 6n, attempt: 'i2.1' },
      queue: { length: 0 },
    });
  });

  it('never touches a lock someone else holds, nor a free one without a next token or unvouched', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await aliceHoldsBobWaits(name);
    expect(await server.release(name, 'mallory', 5n, timeoutMs, { nextToken: 6n })).toBe(false);
    expect(await server.release(name, 'alice', 4n, timeoutMs, { nextToken: 6n })).toBe(false);
    expect(await server.release(name, 'alice', 5n, timeoutMs, { attempt: 'i9.9', nextToken: 6n })).toBe(false);
    expect(await raw.get(holderKey(name))).toBe('5:i1.1:alice');
    await raw.del(holderKey(name));
    expect(await server.release(name, 'alice', 5n, timeoutMs)).toBe(false);
    // Unvouched, a token is checked only against a holder: a made-up one must not raise the fence of a free lock.
    expect(await server.release(name, 'mallory', tokenMax - 1n, timeoutMs, { nextToken: tokenMax })).toBe(false);
    expect(await server.inspect(name, timeoutMs)).toMatchObject({
      fence: 5n,
      holder: undefined,
      queue: { head: 'w-b' },
    });
    // Messages arrive in publishing order, so any from the refused releases would come before this one.
    await server.leave(name, 'w-b', timeoutMs);
    expect(await released.next()).toBe('left');
    expect(released.messages).toEqual(['left']);
  });

  it('with a releaser, drops its entry while someone else holds the lock, so a late release hands over past it', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await aliceHoldsBobWaits(name);
    await server.enqueue(name, 'w-c', 3n, ttlMs, timeoutMs, { claim: claimOf('i3.1', 'carol') });
    const releaser = { waiterId: 'w-b', claimAttempt: 'i2.1' };
    expect(await server.release(name, 'bob', 6n, timeoutMs, { nextToken: 7n, releaser })).toBe(false);
    expect(await server.inspect(name, timeoutMs)).toMatchObject({
      holder: { owner: 'alice' },
      queue: { head: 'w-c', length: 1 },
    });
    expect(await raw.hkeys(claimsKey(name))).toEqual(['w-c']);
    await server.release(name, 'alice', 5n, timeoutMs, { nextToken: 6n });
    expect((await server.inspect(name, timeoutMs)).holder).toMatchObject({
      owner: 'carol',
      token: 6n,
      attempt: 'i3.1',
    });
    expect(await released.next()).toBe('5:i1.1:6:i3.1');
    expect(released.messages).toEqual(['5:i1.1:6:i3.1']);
  });

  it('with a releaser, frees a handover to its claim under another token, and tells of a head leaving a free lock', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await aliceHoldsBobWaits(name);
    await server.release(name, 'alice', 5n, timeoutMs, { nextToken: 6n });
    const releaser = { waiterId: 'w-b', claimAttempt: 'i2.1' };
    expect(await server.release(name, 'bob', 7n, timeoutMs, { nextToken: 8n, releaser })).toBe(false);
    expect((await server.inspect(name, timeoutMs)).holder).toBeUndefined();
    await server.enqueue(name, 'w-c', 3n, ttlMs, timeoutMs);
    await server.enqueue(name, 'w-d', 4n, ttlMs, timeoutMs, { claim: claimOf('i4.1') });
    const leaving = { releaser: { waiterId: 'w-c', claimAttempt: 'i3.1' } };
    expect(await server.release(name, 'carol', 9n, timeoutMs, leaving)).toBe(false);
    expect((await server.inspect(name, timeoutMs)).queue).toEqual({ head: 'w-d', length: 1 });
    for (const message of ['5:i1.1:6:i2.1', '6:i2.1', 'left']) expect(await released.next()).toBe(message);
  });

  it('answers handed to a renewal of the claim that holds the lock, and queues nothing', async () => {
    const name = freshName();
    await aliceHoldsBobWaits(name);
    await server.release(name, 'alice', 5n, timeoutMs, { nextToken: 6n });
    expect(await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs, { claim: claimOf('i2.1') })).toEqual({
      outcome: 'handed',
      token: 6n,
    });
    expect(await raw.zcard(queueKey(name))).toBe(0);
    expect(await server.enqueue(name, 'w-b', 2n, ttlMs, timeoutMs, { claim: claimOf('i2.2') })).toMatchObject({
      outcome: 'queued',
    });
  });

  it("frees a handover on leave when the waiter names its claim's attempt, publishing it as a release", async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await aliceHoldsBobWaits(name);
    await server.release(name, 'alice', 5n, timeoutMs, { nextToken: 6n });
    expect(await server.leave(name, 'w-b', timeoutMs)).toBe(false);
    expect(await server.leave(name, 'w-b', timeoutMs, 'i9.9')).toBe(false);
    expect((await server.inspect(name, timeoutMs)).holder).toMatchObject({ attempt: 'i2.1' });
    expect(await server.leave(name, 'w-b', timeoutMs, 'i2.1')).toBe(true);
    expect((await server.inspect(name, timeoutMs)).holder).toBeUndefined();
    expect(await released.next()).toBe('5:i1.1:6:i2.1');
    expect(await released.next()).toBe('6:i2.1');
  });

  it('does what MemoryLockServer does, call for call', async () => {
    const name = freshName();
    const memory = new MemoryLockServer('m', () => 0);
    const both = async <T>(call: (lockServer: RedisLockServer | MemoryLockServer) => Promise<T>) => {
      const [fromRedis, fromMemory] = [await call(server), await call(memory)];
      expect(fromRedis).toEqual(fromMemory);
      return fromRedis;
    };
    await both((s) => s.grant(name, 'alice', 1n, 'i1.1', ttlMs, timeoutMs));
    await both((s) => s.enqueue(name, 'w-b', 1n, ttlMs, timeoutMs, { claim: claimOf('i2.1') }));
    await both((s) => s.enqueue(name, 'w-c', 2n, ttlMs, timeoutMs, { claim: claimOf('i3.1', 'carol') }));
    await both((s) => s.release(name, 'alice', 1n, timeoutMs, { nextToken: 2n }));
    await both((s) => s.enqueue(name, 'w-b', 1n, ttlMs, timeoutMs, { claim: claimOf('i2.1') }));
    await both((s) => s.leave(name, 'w-b', timeoutMs, 'i2.1'));
    await both((s) => s.grant(name, 'carol', 3n, 'i3.2', ttlMs, timeoutMs, 'w-c'));
    await both((s) => s.release(name, 'carol', 3n, timeoutMs, { attempt: 'i3.2', nextToken: 4n }));
    await both((s) => s.enqueue(name, 'w-d', 3n, ttlMs, timeoutMs, { claim: claimOf('i4.1', 'dave') }));
    await both((s) => s.release(name, 'carol', 3n, timeoutMs, { attempt: 'i3.2', nextToken: 5n }));
    await both((s) => s.enqueue(name, 'w-e', 4n, ttlMs, timeoutMs, { claim: claimOf('i5.1', 'erin') }));
    const releaser = { waiterId: 'w-e', claimAttempt: 'i5.1' };
    await both((s) => s.release(name, 'erin', 6n, timeoutMs, { nextToken: 7n, releaser }));
    await both((s) => s.release(name, 'dave', 5n, timeoutMs, { nextToken: 6n }));
    await both((s) => s.release(name, 'dave', 5n, timeoutMs, { nextToken: 6n, releaser: {} }));
    const [redisState, memoryState] = [await server.inspect(name, timeoutMs), await memory.inspect(name)];
    expect({ ...redisState, holder: undefined }).toEqual({ ...memoryState, holder: undefined });
  });
});

describe('arguments', () => {
  it.each([
    ['a negative token', () => server.grant(freshName(), 'alice', -1n, 'i1.1', ttlMs, timeoutMs), 'token'],
    ['a token above uint64', () => server.release(freshName(), 'alice', tokenMax + 1n, timeoutMs), 'token'],
    ['a zero TTL', () => server.grant(freshName(), 'alice', 1n, 'i1.1', 0, timeoutMs), 'ttlMs'],
    ['a fractional TTL', () => server.refresh(freshName(), 'alice', 1n, 1.5, timeoutMs), 'ttlMs'],
    ['an empty attempt', () => server.grant(freshName(), 'alice', 1n, '', ttlMs, timeoutMs), 'attempt'],
    ['an attempt with ":"', () => server.grant(freshName(), 'alice', 1n, 'i1:1', ttlMs, timeoutMs), 'attempt'],
    [
      'an attempt of 65 characters',
      () => server.grant(freshName(), 'a', 1n, 'x'.repeat(65), ttlMs, timeoutMs),
      'attempt',
    ],
    [
      'a release attempt with ":"',
      () => server.release(freshName(), 'alice', 1n, timeoutMs, { attempt: 'a:b' }),
      'attempt',
    ],
    ['an empty release attempt', () => server.release(freshName(), 'alice', 1n, timeoutMs, { attempt: '' }), 'attempt'],
    ['an empty name', () => server.inspect('', timeoutMs), 'name'],
    ['a lone surrogate in the owner', () => server.grant(freshName(), '\uD800', 1n, 'i1.1', ttlMs, timeoutMs), 'owner'],
    ['a lone surrogate in the name', () => server.inspect('\uDC00', timeoutMs), 'name'],
    ['a zero timeout', () => server.inspect(freshName(), 0), 'timeoutMs'],
    ['an overflowing timeout', () => server.inspect(freshName(), 2 ** 31), 'timeoutMs'],
    ['an empty waiterId', () => server.enqueue(freshName(), '', 1n, ttlMs, timeoutMs), 'waiterId'],
    ['a waiterId of 201 bytes', () => server.leave(freshName(), 'é'.repeat(100) + 'x', timeoutMs), 'waiterId'],
    [
      'a lone surrogate in the waiterId',
      () => server.grant(freshName(), 'a', 1n, 'i1.1', ttlMs, timeoutMs, '\uD800'),
      'waiterId',
    ],
    ['ticket 0', () => server.enqueue(freshName(), 'w', 0n, ttlMs, timeoutMs), 'ticket'],
    ['a ticket past 2^53 - 1', () => server.enqueue(freshName(), 'w', ticketMax + 1n, ttlMs, timeoutMs), 'ticket'],
    ['a zero lease', () => server.enqueue(freshName(), 'w', 1n, 0, timeoutMs), 'leaseMs'],
    ['a fractional lease', () => server.enqueue(freshName(), 'w', 1n, 0.5, timeoutMs), 'leaseMs'],
    [
      'a next token above uint64',
      () => server.release(freshName(), 'alice', 1n, timeoutMs, { nextToken: tokenMax + 1n }),
      'nextToken',
    ],
    [
      'a claim with an empty attempt',
      () => server.enqueue(freshName(), 'w', 1n, ttlMs, timeoutMs, { claim: { owner: 'b', attempt: '', ttlMs } }),
      'attempt',
    ],
    [
      'a claim with a zero TTL',
      () =>
        server.enqueue(freshName(), 'w', 1n, ttlMs, timeoutMs, { claim: { owner: 'b', attempt: 'i1.1', ttlMs: 0 } }),
      'ttlMs',
    ],
    ['a leave claim attempt with ":"', () => server.leave(freshName(), 'w', timeoutMs, 'a:b'), 'attempt'],
    [
      "a releaser's empty waiter id",
      () => server.release(freshName(), 'a', 1n, timeoutMs, { releaser: { waiterId: '', claimAttempt: 'i1.1' } }),
      'waiterId',
    ],
    [
      'a releaser\'s claim attempt with ":"',
      () => server.release(freshName(), 'a', 1n, timeoutMs, { releaser: { waiterId: 'w', claimAttempt: 'a:b' } }),
      'attempt',
    ],
  ])('refuse %s with InvalidArgumentError, before calling the server', async (_, call, field) => {
    const keysBefore = await raw.dbsize();
    const error = await call().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ details: { field } });
    expect(await raw.dbsize()).toBe(keysBefore);
  });
});

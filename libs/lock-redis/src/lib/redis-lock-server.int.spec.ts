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
import { fenceKey, holderKey, releasedChannel, tokenMax } from './lock-keys';
import { RedisLockServer } from './redis-lock-server';

const timeoutMs = 2_000;
const ttlMs = 60_000;
const messageWaitMs = 5_000;

let redis: RedisServer;
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
  server = new RedisLockServer({ host: '127.0.0.1', port: redis.port });
  await server.waitUntilConnected(timeoutMs);
  raw = connectRedisClient(redis);
});

afterAll(async () => {
  await server.close();
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
    expect(await server.inspect(freshName(), timeoutMs)).toEqual({ fence: 0n, holder: undefined });
  });

  it('reports the fence and the holder with its remaining TTL', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, ttlMs, timeoutMs);
    const state = await server.inspect(name, timeoutMs);
    expect(state).toMatchObject({ fence: 5n, holder: { owner: 'alice', token: 5n } });
    expect(state.holder?.remainingTtlMs).toBeGreaterThan(ttlMs - 5_000);
    expect(state.holder?.remainingTtlMs).toBeLessThanOrEqual(ttlMs);
  });

  it('reports the fence without a holder once released', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, ttlMs, timeoutMs);
    await server.release(name, 'alice', 5n, timeoutMs);
    expect(await server.inspect(name, timeoutMs)).toEqual({ fence: 5n, holder: undefined });
  });
});

describe('grant', () => {
  it('grants a free lock whose fence is below the token: the fence becomes the token, the holder gets the TTL', async () => {
    const name = freshName();
    expect(await server.grant(name, 'alice', 5n, 1_000, timeoutMs)).toEqual({ outcome: 'granted' });
    expect(await raw.get(fenceKey(name))).toBe('5');
    expect(await raw.pttl(fenceKey(name))).toBe(-1);
    expect(await raw.get(holderKey(name))).toBe('5:alice');
    const holderTtlMs = await raw.pttl(holderKey(name));
    expect(holderTtlMs).toBeGreaterThan(0);
    expect(holderTtlMs).toBeLessThanOrEqual(1_000);
  });

  it('answers held, changing nothing, while another owner holds the lock', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, ttlMs, timeoutMs);
    const grant = await server.grant(name, 'bob', 6n, 1_000, timeoutMs);
    expect(grant).toMatchObject({ outcome: 'held', fence: 5n, holder: { owner: 'alice', token: 5n } });
    expect(await raw.get(fenceKey(name))).toBe('5');
    expect(await raw.get(holderKey(name))).toBe('5:alice');
    expect(await raw.pttl(holderKey(name))).toBeGreaterThan(1_000);
  });

  it('answers held with the caller itself when the same grant was applied before (a retry)', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, ttlMs, timeoutMs);
    expect(await server.grant(name, 'alice', 5n, ttlMs, timeoutMs)).toMatchObject({
      outcome: 'held',
      fence: 5n,
      holder: { owner: 'alice', token: 5n },
    });
  });

  it('answers stale, changing nothing, when the fence has reached or passed the token', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, ttlMs, timeoutMs);
    await server.release(name, 'alice', 5n, timeoutMs);
    expect(await server.grant(name, 'bob', 5n, ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 5n });
    expect(await server.grant(name, 'bob', 4n, ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 5n });
    expect(await raw.exists(holderKey(name))).toBe(0);
    expect(await raw.get(fenceKey(name))).toBe('5');
  });

  it('answers stale to token 0, which no fence is below', async () => {
    const name = freshName();
    expect(await server.grant(name, 'alice', 0n, ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 0n });
    expect(await raw.exists(holderKey(name), fenceKey(name))).toBe(0);
  });

  it('compares tokens above 2^53 exactly, where doubles cannot tell them apart', async () => {
    const name = freshName();
    const grantAndRelease = async (token: bigint) => {
      const grant = await server.grant(name, 'alice', token, ttlMs, timeoutMs);
      await server.release(name, 'alice', token, timeoutMs);
      return grant;
    };
    expect(await grantAndRelease(9007199254740992n)).toEqual({ outcome: 'granted' });
    // 2^53 + 1 is 2^53 as a double.
    expect(await grantAndRelease(9007199254740993n)).toEqual({ outcome: 'granted' });
    expect(await grantAndRelease(tokenMax)).toEqual({ outcome: 'granted' });
    expect(await server.grant(name, 'bob', 9007199254740993n, ttlMs, timeoutMs)).toEqual({
      outcome: 'stale',
      fence: 18446744073709551615n,
    });
    expect(await server.grant(name, 'bob', 18446744073709551614n, ttlMs, timeoutMs)).toEqual({
      outcome: 'stale',
      fence: tokenMax,
    });
    expect(await raw.get(fenceKey(name))).toBe('18446744073709551615');
  });

  it('compares tokens of different lengths by value, not as text', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 9n, ttlMs, timeoutMs);
    await server.release(name, 'alice', 9n, timeoutMs);
    expect(await server.grant(name, 'alice', 10n, ttlMs, timeoutMs)).toEqual({ outcome: 'granted' });
    await server.release(name, 'alice', 10n, timeoutMs);
    expect(await server.grant(name, 'alice', 9n, ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 10n });
  });
});

describe('release', () => {
  it('frees the lock of its holder, keeps the fence and publishes the token', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    await server.grant(name, 'alice', 9007199254740993n, ttlMs, timeoutMs);
    expect(await server.release(name, 'alice', 9007199254740993n, timeoutMs)).toBe(true);
    expect(await released.next()).toBe('9007199254740993');
    expect(await raw.exists(holderKey(name))).toBe(0);
    expect(await raw.get(fenceKey(name))).toBe('9007199254740993');
  });

  it('changes nothing and publishes nothing for another owner, another token or a free lock', async () => {
    const name = freshName();
    const released = await listen(releasedChannel(name));
    expect(await server.release(name, 'alice', 5n, timeoutMs)).toBe(false);
    await server.grant(name, 'alice', 5n, ttlMs, timeoutMs);
    expect(await server.release(name, 'bob', 5n, timeoutMs)).toBe(false);
    expect(await server.release(name, 'alice', 4n, timeoutMs)).toBe(false);
    expect(await server.release(name, 'alice', 6n, timeoutMs)).toBe(false);
    expect(await raw.get(holderKey(name))).toBe('5:alice');
    expect(await server.release(name, 'alice', 5n, timeoutMs)).toBe(true);
    // Messages arrive in publishing order, so any from the refused releases would come first.
    expect(await released.next()).toBe('5');
    expect(released.messages).toEqual(['5']);
    expect(await server.release(name, 'alice', 5n, timeoutMs)).toBe(false);
  });
});

describe('refresh', () => {
  it('sets the holder TTL to ttlMs from now', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 1_000, timeoutMs);
    expect(await server.refresh(name, 'alice', 5n, ttlMs, timeoutMs)).toBe(true);
    expect(await raw.pttl(holderKey(name))).toBeGreaterThan(ttlMs - 5_000);
    expect(await server.refresh(name, 'alice', 5n, 2_000, timeoutMs)).toBe(true);
    expect(await raw.pttl(holderKey(name))).toBeLessThanOrEqual(2_000);
  });

  it('changes nothing for another owner or token, or once the lock is free', async () => {
    const name = freshName();
    await server.grant(name, 'alice', 5n, 5_000, timeoutMs);
    expect(await server.refresh(name, 'bob', 5n, ttlMs, timeoutMs)).toBe(false);
    expect(await server.refresh(name, 'alice', 6n, ttlMs, timeoutMs)).toBe(false);
    expect(await raw.pttl(holderKey(name))).toBeLessThanOrEqual(5_000);
    await server.release(name, 'alice', 5n, timeoutMs);
    expect(await server.refresh(name, 'alice', 5n, ttlMs, timeoutMs)).toBe(false);
    expect(await raw.exists(holderKey(name))).toBe(0);
  });
});

describe('owners', () => {
  it.each([
    ['unicode', 'ünïcødé 🔒 锁'],
    ['separators', '::'],
    ['a token and separator', '12:3'],
    ['newlines and spaces', ' a\nb\r\n '],
    ['empty', ''],
    ['128 characters', 'ö'.repeat(64) + '🔒'.repeat(32)],
  ])('come back exactly as granted, and only the exact owner releases: %s', async (_, owner) => {
    const name = freshName();
    await server.grant(name, owner, 7n, ttlMs, timeoutMs);
    expect((await server.inspect(name, timeoutMs)).holder).toMatchObject({ owner, token: 7n });
    expect(await server.release(name, `${owner}x`, 7n, timeoutMs)).toBe(false);
    expect(await server.release(name, owner, 7n, timeoutMs)).toBe(true);
  });

  it('are told apart from other owner and token pairs that would concatenate alike', async () => {
    const name = freshName();
    await server.grant(name, '3', 12n, ttlMs, timeoutMs);
    expect(await server.release(name, '23', 1n, timeoutMs)).toBe(false);
    expect(await server.release(name, '2:3', 1n, timeoutMs)).toBe(false);
    expect(await server.refresh(name, ':3', 12n, ttlMs, timeoutMs)).toBe(false);
    expect(await server.release(name, '3', 12n, timeoutMs)).toBe(true);
  });
});

describe('leases', () => {
  it('end when the TTL runs out, leaving the fence: a higher token is granted, the same one is stale', async () => {
    const name = freshName();
    const expirations = await listen('__keyevent@0__:expired');
    await server.grant(name, 'alice', 5n, 50, timeoutMs);
    // Keyspace notifications are on (--notify-keyspace-events Ex): await the expiry.
    let expired = await expirations.next();
    while (expired !== holderKey(name)) expired = await expirations.next();
    expect(await server.inspect(name, timeoutMs)).toEqual({ fence: 5n, holder: undefined });
    expect(await server.grant(name, 'bob', 5n, ttlMs, timeoutMs)).toEqual({ outcome: 'stale', fence: 5n });
    expect(await server.grant(name, 'bob', 6n, ttlMs, timeoutMs)).toEqual({ outcome: 'granted' });
  });
});

describe('arguments', () => {
  it.each([
    ['a negative token', () => server.grant(freshName(), 'alice', -1n, ttlMs, timeoutMs), 'token'],
    ['a token above uint64', () => server.release(freshName(), 'alice', tokenMax + 1n, timeoutMs), 'token'],
    ['a zero TTL', () => server.grant(freshName(), 'alice', 1n, 0, timeoutMs), 'ttlMs'],
    ['a fractional TTL', () => server.refresh(freshName(), 'alice', 1n, 1.5, timeoutMs), 'ttlMs'],
    ['an empty name', () => server.inspect('', timeoutMs), 'name'],
    ['a lone surrogate in the owner', () => server.grant(freshName(), '\uD800', 1n, ttlMs, timeoutMs), 'owner'],
    ['a lone surrogate in the name', () => server.inspect('\uDC00', timeoutMs), 'name'],
    ['a zero timeout', () => server.inspect(freshName(), 0), 'timeoutMs'],
    ['an overflowing timeout', () => server.inspect(freshName(), 2 ** 31), 'timeoutMs'],
  ])('refuse %s with InvalidArgumentError, before calling the server', async (_, call, field) => {
    const keysBefore = await raw.dbsize();
    const error = await call().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ details: { field } });
    expect(await raw.dbsize()).toBe(keysBefore);
  });
});

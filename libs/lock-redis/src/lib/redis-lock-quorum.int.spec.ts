// LockQuorum over three real redis-servers: the waiter queue end to end,
// with one server lost and back.
import { LockQuorum, type AcquireAttempt } from '@bulwark/lock-core';
import { closeRedisClients, killAllProcesses, startRedisServer, type RedisServer } from '@bulwark/testing';
import type { RedisLockServer } from './redis-lock-server';
import { RedisLockServers } from './redis-lock-servers';

const timeoutMs = 2_000;
const ttlMs = 60_000;
const leaseMs = 60_000;

let redisServers: RedisServer[];
let group: RedisLockServers;
let lockServers: readonly RedisLockServer[];
let quorum: LockQuorum;

function tokenOf(attempt: AcquireAttempt): bigint {
  if (!attempt.acquired) throw new Error(`not acquired: ${JSON.stringify(attempt, (_, value) => String(value))}`);
  return attempt.grant.token;
}

beforeAll(async () => {
  redisServers = await Promise.all([startRedisServer(), startRedisServer(), startRedisServer()]);
  group = new RedisLockServers({ servers: redisServers.map(({ port }) => ({ host: '127.0.0.1', port })) });
  lockServers = group.servers;
  expect(await group.waitUntilCounted(timeoutMs)).toBe(true);
  quorum = new LockQuorum({
    servers: lockServers,
    nowMs: () => performance.now(),
    // Tickets from 1 up, as the expectations below read them; the wall clock's are as good, and longer.
    wallClockMs: () => 0,
    random: () => 0,
    callTimeoutMs: timeoutMs,
  });
});

afterAll(async () => {
  await group.close();
  await closeRedisClients();
  await Promise.all(redisServers.map((server) => server.remove()));
  await killAllProcesses();
});

describe('LockQuorum over Redis', () => {
  it('grants waiters in arrival order, refuses callers without a waiter meanwhile, and survives a lost server', async () => {
    const aliceToken = tokenOf(await quorum.tryAcquire('hot', 'alice', ttlMs));
    expect(await quorum.enqueue('hot', 'w-bob', leaseMs)).toEqual({ ticket: 1n, first: true, free: false });
    expect(await quorum.enqueue('hot', 'w-carol', leaseMs)).toEqual({ ticket: 2n, first: false, free: false });
    expect(await quorum.inspect('hot')).toMatchObject({ holder: { owner: 'alice' }, waiters: 2, answered: 3 });
    await quorum.release('hot', 'alice', aliceToken);

    expect(await quorum.tryAcquire('hot', 'dave', ttlMs)).toEqual({ acquired: false, holder: undefined, queued: true });
    expect(await quorum.tryAcquire('hot', 'carol', ttlMs, 'w-carol')).toMatchObject({ acquired: false, queued: true });
    const bobToken = tokenOf(await quorum.tryAcquire('hot', 'bob', ttlMs, 'w-bob'));
    expect(bobToken).toBe(aliceToken + 1n);
    await quorum.release('hot', 'bob', bobToken);

    // A server is lost; erin queues on the other two, after carol.
    await (redisServers[0] as RedisServer).kill();
    expect(await quorum.enqueue('hot', 'w-erin', leaseMs)).toEqual({ ticket: 3n, first: false, free: true });
    await (redisServers[0] as RedisServer).restart();
    await (lockServers[0] as RedisLockServer).waitUntilConnected(timeoutMs);
    // Back, it has carol but not erin: renewing puts erin there too, behind carol.
    await quorum.enqueue('hot', 'w-erin', leaseMs, { ticket: 3n });
    expect(await (lockServers[0] as RedisLockServer).inspect('hot', timeoutMs)).toMatchObject({
      ticket: 3n,
      queue: { head: 'w-carol', length: 2 },
    });
    expect(await quorum.tryAcquire('hot', 'erin', ttlMs, 'w-erin')).toMatchObject({ acquired: false, queued: true });
    expect(await quorum.tryAcquire('hot', 'carol', ttlMs, 'w-carol')).toMatchObject({ acquired: true });
    await quorum.leave('hot', 'w-erin');
    expect(await quorum.inspect('hot')).toMatchObject({ holder: { owner: 'carol' }, waiters: 0 });
  });

  it("leaves an owner's grant alone when the same owner retries through another instance that guesses its token", async () => {
    const options = { servers: lockServers, nowMs: () => performance.now(), callTimeoutMs: timeoutMs };
    const first = new LockQuorum({ ...options, attemptPrefix: 'lock-1.boot1' });
    const second = new LockQuorum({ ...options, attemptPrefix: 'lock-2.boot1' });
    // The second instance last saw fence 1; the first grants token 2 to worker-1.
    await second.release('retry', 'someone', tokenOf(await second.tryAcquire('retry', 'someone', ttlMs)));
    const held = await first.tryAcquire('retry', 'worker-1', ttlMs);
    expect(held).toMatchObject({ acquired: true, grant: { token: 2n, attempt: 'lock-1.boot1.1' } });
    // The retry guesses token 2, finds worker-1's grant everywhere, and undoes nothing of it.
    expect(await second.tryAcquire('retry', 'worker-1', ttlMs)).toMatchObject({
      acquired: false,
      holder: { owner: 'worker-1', token: 2n, attempt: 'lock-1.boot1.1' },
    });
    for (const server of lockServers) {
      expect((await server.inspect('retry', timeoutMs)).holder).toMatchObject({ attempt: 'lock-1.boot1.1' });
    }
    expect(await first.tryAcquire('retry', 'bob', ttlMs)).toMatchObject({ acquired: false });
    expect(await second.refresh('retry', 'worker-1', 2n, ttlMs)).toMatchObject({ attempt: 'lock-1.boot1.1' });
  });
});

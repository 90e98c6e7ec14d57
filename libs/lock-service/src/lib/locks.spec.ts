// Locks over the memory backend: grants, the queue's order, wake-ups on
// release and on a holder's expiry, timeouts and cancellation.
import { UnavailableError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { LockQuorum, MemoryLockServer, type LockServer } from '@bulwark/lock-core';
import { occurrence } from '@bulwark/testing';
import { memoryBackend, type LockBackend } from './lock-backend';
import type { LockEvent } from '@bulwark/lock-redis';
import { LocalLockEvents } from './local-lock-events';
import { Locks, type AcquireResult } from './locks';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
const never = new AbortController().signal;

function granted(result: AcquireResult): bigint {
  if (!result.acquired)
    throw new Error(`not acquired: ${JSON.stringify(result.holder, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`);
  return result.grant.token;
}

/** Memory servers s1, s2 and s3 on this process's clock. */
function threeServers(): [MemoryLockServer, MemoryLockServer, MemoryLockServer] {
  return [1, 2, 3].map((index) => new MemoryLockServer(`s${index}`, () => performance.now())) as [
    MemoryLockServer,
    MemoryLockServer,
    MemoryLockServer,
  ];
}

/**
 * One instance (lock-1) over servers: it calls them (or options.calls, stand-ins for them) and every server
 * tells it what it does, unless options.deaf.
 */
function instanceOver(
  servers: readonly MemoryLockServer[],
  options: {
    calls?: readonly LockServer[];
    deaf?: boolean;
    callTimeoutMs?: number;
    waiterLeaseMs?: number;
    waitersMax?: number;
  } = {},
): { events: LocalLockEvents; spread: Locks } {
  const events = new LocalLockEvents();
  if (!options.deaf) for (const server of servers) events.publishFrom(server);
  const quorum = new LockQuorum({
    servers: options.calls ?? servers,
    nowMs: () => performance.now(),
    callTimeoutMs: options.callTimeoutMs ?? 100,
  });
  const { waiterLeaseMs, waitersMax } = options;
  const spread = new Locks({
    quorum,
    events,
    logger,
    instanceId: 'lock-1',
    ...(waiterLeaseMs ? { waiterLeaseMs } : {}),
    ...(waitersMax ? { waitersMax } : {}),
  });
  return { events, spread };
}

/**
 * A server slow to answer: every call takes callTimeoutMs less a millisecond, and is then applied and answered,
 * as by a server that barely keeps up (each round that calls it costs the call timeout).
 */
function slow(server: MemoryLockServer, callTimeoutMs: number): LockServer {
  return new Proxy(server, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setTimeout(resolve, callTimeoutMs - 1));
        return (value as (...callArgs: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A server that hangs: every call fails after timeoutMs, having done nothing. */
function hanging(server: MemoryLockServer, timeoutMs: number): LockServer {
  return new Proxy(server, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return () =>
        new Promise((_, reject) =>
          setTimeout(() => reject(new UnavailableError(`${target.id} did not answer in time`)), timeoutMs),
        );
    },
  });
}

/** Under jest's fake timers: moves simulated time on until promise settles (at most a minute), and returns it. */
async function inSimulatedTime<T>(promise: Promise<T>): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let elapsedMs = 0; !settled && elapsedMs < 60_000; elapsedMs += 10) await jest.advanceTimersByTimeAsync(10);
  return promise;
}

/** Resolves once server's queue for name holds at least count waiters. */
async function queuedOn(server: MemoryLockServer, name: string, count: number): Promise<void> {
  while ((await server.inspect(name)).queue.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Alice holds 'a' and bob waits for it. A release on s1 alone hands him the lock there; he undoes it and claims
 * anew. His new claim waits at s2 and s3 until openNewClaims (then arrives, or is lost with newClaimsLost), and
 * before it, alice's retried release hands the lock to his old claim there: a majority under a claim he no longer
 * takes. With newsLate, s2's and s3's news of that is held back until deliverNews.
 */
async function oldClaimHandedOverOnMajority(options: { newClaimsLost: boolean; newsLate?: boolean }) {
  const servers = threeServers();
  const [s1, s2, s3] = servers;
  let firstClaim: string | undefined;
  const opened = occurrence();
  // s2 and s3 as the instance calls them.
  const holdingNewClaims = (server: MemoryLockServer): LockServer =>
    new Proxy(server, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== 'enqueue' || typeof value !== 'function') return value;
        return async (...args: Parameters<MemoryLockServer['enqueue']>) => {
          const attempt = args[5]?.claim?.attempt;
          firstClaim ??= attempt;
          if (attempt === undefined || attempt === firstClaim) return target.enqueue(...args);
          await opened.happened;
          if (options.newClaimsLost) throw new UnavailableError('the request was lost');
          return target.enqueue(...args);
        };
      },
    });
  const { events, spread } = instanceOver(servers, { calls: [s1, holdingNewClaims(s2), holdingNewClaims(s3)] });
  const heldNews: Array<() => void> = [];
  if (options.newsLate) {
    for (const server of [s2, s3]) {
      const publish = server.onReleased;
      server.onReleased = (name, message) => heldNews.push(() => publish?.(name, message));
    }
  }
  const holder = granted(await spread.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
  const waiting = spread.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 3_000 }, never);
  await Promise.all(servers.map((server) => queuedOn(server, 'a', 1)));
  await s1.release('a', 'alice', holder, undefined, { nextToken: holder + 1n });
  while ((await s1.inspect('a')).holder?.owner === 'bob') await new Promise((resolve) => setTimeout(resolve, 10));
  await s2.release('a', 'alice', holder, undefined, { nextToken: holder + 2n });
  await s3.release('a', 'alice', holder, undefined, { nextToken: holder + 2n });
  return {
    servers,
    events,
    spread,
    holder,
    waiting,
    openNewClaims: () => opened.signal(),
    deliverNews: () => {
      for (const deliver of heldNews) deliver();
    },
  };
}

/**
 * Alice's lease runs out by itself, and bob, first in line, is then granted by a round (not a handover) while
 * s3 is away, so his leave never reaches it there: his entry, with his claim, stays at the head of s3's queue.
 * Carol waits behind him, so the instance keeps hearing of the lock.
 */
async function bobGrantedWhileS3Away() {
  const servers = threeServers();
  const s3 = servers[2];
  const { events, spread } = instanceOver(servers);
  granted(await spread.acquire({ name: 'a', owner: 'alice', ttlMs: 300, waitTimeoutMs: 0 }, never));
  const bobWaits = spread.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 30_000 }, never);
  await queuedOn(s3, 'a', 1);
  const carolWaits = spread.acquire({ name: 'a', owner: 'carol', ttlMs: 60_000, waitTimeoutMs: 30_000 }, never);
  await queuedOn(s3, 'a', 2);
  s3.up = false;
  const bob = granted(await bobWaits);
  s3.up = true;
  return { servers, s3, events, spread, bob, carolWaits };
}

describe('Locks', () => {
  it('refuses a waiting call past waitersMax with RESOURCE_EXHAUSTED, and takes one again once a waiter is done', async () => {
    const servers = threeServers();
    const { spread } = instanceOver(servers, { waitersMax: 2 });
    const giveUp = new AbortController();
    const waitFor = (owner: string, signal = giveUp.signal) =>
      spread.acquire({ name: 'a', owner, ttlMs: 60_000, waitTimeoutMs: 30_000 }, signal);
    const alice = granted(await spread.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const bobWaits = waitFor('bob', never);
    await queuedOn(servers[0], 'a', 1);
    const carolWaits = waitFor('carol');
    await queuedOn(servers[0], 'a', 2);
    expect(spread.waiting).toBe(2);
    await expect(waitFor('dave')).rejects.toMatchObject({ kind: 'resource-exhausted', details: { field: 'waiters' } });
    // A try that does not wait takes no place: it is answered as ever.
    expect(await spread.acquire({ name: 'a', owner: 'dave', ttlMs: 60_000, waitTimeoutMs: 0 }, never)).toMatchObject({
      acquired: false,
    });
    // bob is granted and no longer waits: dave may wait now.
    await spread.release('a', 'alice', alice);
    granted(await bobWaits);
    const daveWaits = waitFor('dave');
    await queuedOn(servers[0], 'a', 2);
    expect(spread.waiting).toBe(2);
    giveUp.abort();
    await Promise.allSettled([carolWaits, daveWaits]);
    expect(spread.waiting).toBe(0);
  });

  let backend: LockBackend;
  let locks: Locks;
  const queued: string[] = [];
  let onQueued: ((waiterId: string) => void) | undefined;

  beforeEach(() => {
    backend = memoryBackend();
    queued.length = 0;
    onQueued = undefined;
    locks = new Locks({
      quorum: backend.quorum,
      events: backend.events,
      logger,
      instanceId: 'lock-1:test',
      onQueued: (_name, waiterId) => {
        queued.push(waiterId);
        onQueued?.(waiterId);
      },
    });
  });

  afterEach(() => backend.close());

  /** Resolves once count waiters have their place in the queue. */
  function queuedCount(count: number): Promise<void> {
    return new Promise((resolve) => {
      if (queued.length >= count) return resolve();
      onQueued = () => {
        if (queued.length >= count) resolve();
      };
    });
  }

  it('grants a free lock with token 1, refuses a held one naming its holder, and grants again after a release', async () => {
    const first = await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 10_000, waitTimeoutMs: 0 }, never);
    expect(granted(first)).toBe(1n);
    const refused = await locks.acquire({ name: 'a', owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 0 }, never);
    expect(refused).toMatchObject({ acquired: false, holder: { owner: 'alice', token: 1n } });
    await locks.release('a', 'alice', 1n);
    const second = await locks.acquire({ name: 'a', owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 0 }, never);
    expect(granted(second)).toBe(2n);
  });

  it('answers a grant valid for its TTL less the drift allowance, counted from before it began', async () => {
    const before = performance.now();
    const result = await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 10_000, waitTimeoutMs: 0 }, never);
    if (!result.acquired) throw new Error('not acquired');
    expect(result.grant.validUntilMs).toBeLessThanOrEqual(before + 10_000 - locks.quorum.driftMs(10_000) + 50);
    expect(result.grant.validUntilMs).toBeGreaterThan(performance.now());
  });

  it('wakes a waiter when the holder releases', async () => {
    const holder = granted(await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const waiting = locks.acquire({ name: 'a', owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 60_000 }, never);
    await queuedCount(1);
    await locks.release('a', 'alice', holder);
    expect(granted(await waiting)).toBe(holder + 1n);
  });

  it('hands a released lock over to the first waiter, which answers with its claim as the grant', async () => {
    const holder = granted(await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const before = performance.now();
    const attempts = jest.spyOn(locks.quorum, 'tryAcquire');
    const waiting = locks.acquire({ name: 'a', owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 60_000 }, never);
    await queuedCount(1);
    const view = await locks.inspect('a');
    await locks.release('a', 'alice', holder);
    const result = await waiting;
    if (!result.acquired) throw new Error('not acquired');
    // One grant round only, refused before bob queued: the servers handed the lock over to the claim he queued
    // with, and its validity counts from that enqueue.
    expect(attempts).toHaveBeenCalledTimes(1);
    expect(await locks.inspect('a')).toMatchObject({
      fence: holder + 1n,
      holder: { owner: 'bob', token: holder + 1n, attempt: result.grant.attempt },
      waiters: 0,
    });
    expect(view.waiters).toBe(1);
    expect(result.grant.validUntilMs).toBeLessThanOrEqual(performance.now() + 10_000 - locks.quorum.driftMs(10_000));
    expect(result.grant.validUntilMs).toBeGreaterThanOrEqual(before + 10_000 - locks.quorum.driftMs(10_000));
  });

  it('takes a handover whose news was lost when renewing its place finds it', async () => {
    // No server tells anyone of anything: every release is news lost on its way.
    const { spread: deaf } = instanceOver(threeServers(), { deaf: true, waiterLeaseMs: 300 });
    const holder = granted(await deaf.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const waiting = deaf.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 30_000 }, never);
    while ((await deaf.inspect('a')).waiters === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await deaf.release('a', 'alice', holder);
    expect(granted(await waiting)).toBe(holder + 1n);
    expect((await deaf.inspect('a')).holder).toMatchObject({ owner: 'bob' });
  });

  it('frees a handover that stays on a minority, and takes the lock at its place when the release comes', async () => {
    const servers = threeServers();
    const [s1] = servers;
    const { spread } = instanceOver(servers);
    const holder = granted(await spread.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const waiting = spread.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 30_000 }, never);
    while ((await spread.inspect('a')).waiters === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Alice's release reaches s1 alone: s1 hands the lock over to bob, who hears of it from s1 only.
    await s1.release('a', 'alice', holder, undefined, { nextToken: holder + 1n });
    expect((await s1.inspect('a')).holder).toMatchObject({ owner: 'bob', token: holder + 1n });
    // Within a call's time (100 ms) bob frees it there, and is queued there again at his place.
    while ((await s1.inspect('a')).holder?.owner === 'bob') await new Promise((resolve) => setTimeout(resolve, 10));
    await queuedOn(s1, 'a', 1);
    await spread.release('a', 'alice', holder);
    const token = granted(await waiting);
    expect(token).toBeGreaterThan(holder + 1n);
    expect((await spread.inspect('a')).holder).toMatchObject({ owner: 'bob', token });
    // s1 was free when alice's release came, and handed it over all the same: every server is back in step.
    expect(await Promise.all(servers.map(async (server) => (await server.inspect('a')).holder?.token))).toEqual([
      token,
      token,
      token,
    ]);
  });

  it('frees a majority handover to a claim the waiter has since replaced, and takes the lock', async () => {
    const { servers, holder, waiting, openNewClaims } = await oldClaimHandedOverOnMajority({
      newClaimsLost: false,
    });
    openNewClaims();
    const token = granted(await waiting);
    expect(token).toBeGreaterThan(holder + 2n);
    expect(await Promise.all(servers.map(async (server) => (await server.inspect('a')).holder?.token))).toEqual([
      token,
      token,
      token,
    ]);
  });

  it.each([
    ['it heard of before its wait ended', false],
    ['whose news came only after its wait ended, when nobody here listens any more', true],
  ])('frees, when a wait fails, the handovers to a claim it had replaced: those %s', async (_, newsLate) => {
    // Bob's renewal with his new claim fails on s2 and s3, and his wait with it, before his loop came round to free
    // the handovers to his old claim there (or before he heard of them at all).
    const { servers, events, spread, waiting, openNewClaims, deliverNews } = await oldClaimHandedOverOnMajority({
      newClaimsLost: true,
      newsLate,
    });
    openNewClaims();
    await expect(waiting).rejects.toBeInstanceOf(UnavailableError);
    await spread.settle();
    expect(events.watching('a')).toBe(0);
    deliverNews();
    // Nobody takes those handovers: left alone, s2 and s3 would keep the lock from everyone for 60 s.
    expect(await Promise.all(servers.map(async (server) => (await server.inspect('a')).holder))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('leaves the queue, after a handover, on the server that never told of one', async () => {
    const servers = threeServers();
    const [s1, s2, s3] = servers;
    // s3 never gets a release: it keeps alice's grant and bob in its queue.
    const deafToReleases = new Proxy(s3, {
      get: (target, property, receiver) =>
        property === 'release'
          ? () => Promise.reject(new UnavailableError('the request was lost'))
          : Reflect.get(target, property, receiver),
    });
    const { spread } = instanceOver(servers, { calls: [s1, s2, deafToReleases] });
    const holder = granted(await spread.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const waiting = spread.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 30_000 }, never);
    await queuedOn(s3, 'a', 1);
    await spread.release('a', 'alice', holder);
    expect(granted(await waiting)).toBe(holder + 1n);
    // Settled (as a stopping instance settles): the hearing out of the handover's news and the leave it ends with.
    await spread.settle();
    expect((await s3.inspect('a')).queue).toEqual({ head: undefined, length: 0 });
    expect((await s1.inspect('a')).holder).toMatchObject({ owner: 'bob' });
  });

  it('releases a handover so that a server it has not reached yet never makes it (a late release overtaken)', async () => {
    const servers = threeServers();
    const [s1, s2, s3] = servers;
    const { spread } = instanceOver(servers);
    const holder = granted(await spread.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const waiting = spread.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 30_000 }, never);
    await queuedOn(s3, 'a', 1);
    // Alice's release (through another instance) reaches s1 and s2 first: they hand the lock over to bob.
    for (const server of [s1, s2]) await server.release('a', 'alice', holder, undefined, { nextToken: holder + 1n });
    const token = granted(await waiting);
    // Bob is done at once; his release overtakes alice's on s3, where she still holds the lock.
    await spread.release('a', 'bob', token);
    expect(await s3.inspect('a')).toMatchObject({ holder: { owner: 'alice' }, queue: { length: 0 } });
    // Her release arrives there at last: bob is no longer in line there, so nothing is handed to him.
    await s3.release('a', 'alice', holder, undefined, { nextToken: holder + 1n });
    expect(await Promise.all(servers.map(async (server) => (await server.inspect('a')).holder))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("releases a waiter's round grant so that a server its leave never reached hands the lock on, not to it", async () => {
    const { servers, s3, spread, bob, carolWaits } = await bobGrantedWhileS3Away();
    expect((await s3.inspect('a')).queue).toEqual({ head: expect.stringMatching(/^lock-1/), length: 2 });
    await spread.release('a', 'bob', bob);
    const carol = granted(await carolWaits);
    // s3 dropped bob's entry before handing over: carol holds the lock there too, nobody's stale claim does.
    expect(await Promise.all(servers.map(async (server) => (await server.inspect('a')).holder))).toEqual(
      Array(3).fill(expect.objectContaining({ owner: 'carol', token: carol })),
    );
  });

  it('frees a late handover to a claim of a waiter that has left, which nobody would take before its TTL', async () => {
    const { s3, events, spread, bob, carolWaits } = await bobGrantedWhileS3Away();
    // A release vouched for elsewhere reaches s3 (free there) and hands the lock to bob's claim, which he never takes.
    const told: LockEvent[] = [];
    const unwatch = await events.watch('a', (event, serverId) => serverId === 's3' && told.push(event));
    await s3.release('a', 'someone', 1n, undefined, { nextToken: 100n, releaser: {} });
    unwatch();
    expect(told).toContainEqual(
      expect.objectContaining({ kind: 'handed', handedTo: expect.objectContaining({ token: 100n }) }),
    );
    for (let wait = 0; wait < 200 && (await s3.inspect('a')).holder !== undefined; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await s3.inspect('a')).holder).toBeUndefined();
    await spread.release('a', 'bob', bob);
    expect(granted(await carolWaits)).toBeGreaterThan(bob);
  });

  it('frees a handover that its waiter gave up on, so the next one gets it', async () => {
    const holder = granted(await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const caller = new AbortController();
    const quitter = locks.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 60_000 }, caller.signal);
    await queuedCount(1);
    const next = locks.acquire({ name: 'a', owner: 'carol', ttlMs: 60_000, waitTimeoutMs: 60_000 }, never);
    await queuedCount(2);
    // Bob goes away as the lock is handed over to him: his leave frees it, and carol is next.
    const released = locks.release('a', 'alice', holder);
    caller.abort();
    await released;
    const quit = await quitter;
    const carol = granted(await next);
    expect(carol).toBeGreaterThan(holder);
    if (quit.acquired) throw new Error('bob was granted after going away');
    expect((await locks.inspect('a')).holder).toMatchObject({ owner: 'carol', token: carol });
  });

  it('wakes a waiter when the holder lets its lease expire', async () => {
    granted(await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 150, waitTimeoutMs: 0 }, never));
    const result = await locks.acquire({ name: 'a', owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 30_000 }, never);
    expect(granted(result)).toBe(2n);
  });

  it('grants waiters in the order they joined the queue', async () => {
    let holder = { owner: 'holder', token: 0n };
    holder.token = granted(await locks.acquire({ name: 'a', owner: 'holder', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const pending = new Map<string, Promise<{ owner: string; token: bigint }>>();
    for (const [index, owner] of ['w1', 'w2', 'w3', 'w4', 'w5'].entries()) {
      const waiting = locks.acquire({ name: 'a', owner, ttlMs: 60_000, waitTimeoutMs: 60_000 }, never);
      pending.set(
        owner,
        waiting.then((result) => ({ owner, token: granted(result) })),
      );
      await queuedCount(index + 1);
    }
    const order: string[] = [];
    while (pending.size > 0) {
      await locks.release('a', holder.owner, holder.token);
      // Whoever is granted next answers first; the others keep waiting, as the lock is held again.
      holder = await Promise.race(pending.values());
      pending.delete(holder.owner);
      order.push(holder.owner);
    }
    expect(order).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
  });

  it('does not let TryAcquire take a lock whose queue has a waiter', async () => {
    const holder = granted(await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const waiting = locks.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 60_000 }, never);
    await queuedCount(1);
    await locks.release('a', 'alice', holder);
    const barging = await locks.acquire({ name: 'a', owner: 'carol', ttlMs: 60_000, waitTimeoutMs: 0 }, never);
    const waited = await waiting;
    // Either bob was granted before carol tried, or carol was refused for bob's place: never carol first.
    expect(granted(waited)).toBe(holder + 1n);
    expect(barging.acquired).toBe(false);
  });

  it('ends a wait at its timeout with the holder, and leaves the queue', async () => {
    granted(await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const result = await locks.acquire({ name: 'a', owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 200 }, never);
    expect(result).toMatchObject({ acquired: false, holder: { owner: 'alice', token: 1n } });
    await new Promise((resolve) => setImmediate(resolve));
    expect((await locks.inspect('a')).waiters).toBe(0);
    expect(locks.waiting).toBe(0);
  });

  it('ends a wait when its caller goes away, and leaves the queue', async () => {
    granted(await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    const caller = new AbortController();
    const waiting = locks.acquire({ name: 'a', owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 60_000 }, caller.signal);
    await queuedCount(1);
    caller.abort();
    expect((await waiting).acquired).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await locks.inspect('a')).waiters).toBe(0);
  });

  it('releases a grant that completes after its caller went away', async () => {
    const caller = new AbortController();
    caller.abort();
    const result = await locks.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 0 }, caller.signal);
    expect(result.acquired).toBe(false);
    const view = await locks.inspect('a');
    expect(view.holder).toBeUndefined();
  });

  it("does not spin on its own undone attempts while the holder's lease has run out on one server only", async () => {
    const start = performance.now();
    // s1's clock runs 1.5 times as fast: the holder's lease ends there first, and a third of it earlier.
    const rates = [1.5, 1, 1];
    const servers = rates.map(
      (rate, index) => new MemoryLockServer(`s${index + 1}`, () => start + (performance.now() - start) * rate),
    );
    const { events, spread } = instanceOver(servers);
    let released = 0;
    await events.watch('a', (event) => {
      if (event.kind === 'released') released += 1;
    });
    const holder = granted(await spread.acquire({ name: 'a', owner: 'alice', ttlMs: 600, waitTimeoutMs: 0 }, never));
    const waiting = spread.acquire({ name: 'a', owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 5_000 }, never);
    // s1 expires the lease at 400 ms, the others at 600 ms: s1 says so, as Redis's keyspace notification would.
    setTimeout(() => events.emit('a', { kind: 'expired' }, 's1'), 450);
    const next = granted(await waiting);
    // A few attempts while only s1 had let the lease go may skip tokens; a loop would skip hundreds.
    expect(next - holder).toBeLessThanOrEqual(4n);
    expect(released).toBeLessThanOrEqual(4);
  });

  it('keeps a waiter first in line while a server is as slow as the call timeout and its attempts outlast the lease', async () => {
    // Simulated time. Each call to s3 takes the call timeout, and alice holds the lock on s1 and s2 only, so each
    // attempt of bob's is three rounds: s3 grants him, and the undo queues him again there and releases it. Renewed
    // only after such an attempt, his place would go up to 2.9 s (a renewal, a third of the lease, an attempt)
    // without one, past its 2.75 s lease (5.5 call timeouts, more than the 5.3 the renewals before steps need).
    jest.useFakeTimers();
    try {
      const callTimeoutMs = 500;
      const [s1, s2, s3] = threeServers();
      const { events, spread } = instanceOver([s1, s2, s3], {
        calls: [s1, s2, slow(s3, callTimeoutMs)],
        callTimeoutMs,
        waiterLeaseMs: 2_750,
      });
      const acquire = (owner: string, waitTimeoutMs: number) =>
        spread.acquire({ name: 'a', owner, ttlMs: 60_000, waitTimeoutMs }, never);
      s3.up = false;
      const alice = granted(await inSimulatedTime(acquire('alice', 0)));
      s3.up = true;
      const bobWaits = acquire('bob', 60_000);
      await inSimulatedTime(queuedOn(s1, 'a', 1));
      const bob = `${(await s1.inspect('a')).queue.head}`;
      const attempts = jest.spyOn(spread.quorum, 'tryAcquire');
      const carolWaits = acquire('carol', 60_000);
      await inSimulatedTime(queuedOn(s1, 'a', 2));
      // For 10 s, something tells bob every 1.35 s that the lock may be free (an expiry on s1, say): he tries each
      // time, and is refused, as alice holds the lock. (The wake-ups drift against his renewals, so some attempt
      // begins just before a renewal is due.)
      const headsSeen = new Set<string>();
      for (let elapsedMs = 0; elapsedMs < 10_000; elapsedMs += 50) {
        if (elapsedMs % 1_350 === 0) events.emit('a', { kind: 'expired' }, 's1');
        await jest.advanceTimersByTimeAsync(50);
        for (const server of [s1, s2]) headsSeen.add(`${(await server.inspect('a')).queue.head}`);
      }
      expect([...headsSeen]).toEqual([bob]);
      expect(attempts.mock.calls.filter((call) => call[3] === bob).length).toBeGreaterThanOrEqual(5);
      // So the lock goes to bob, then to carol behind him.
      await inSimulatedTime(spread.release('a', 'alice', alice));
      const bobFirst = bobWaits.then((result) => ({ owner: 'bob', token: granted(result) }));
      const carolFirst = carolWaits.then((result) => ({ owner: 'carol', token: granted(result) }));
      // (Each of his attempts raised s3's fence: tokens skip.)
      const first = await inSimulatedTime(Promise.race([bobFirst, carolFirst]));
      expect(first.owner).toBe('bob');
      await inSimulatedTime(spread.release('a', 'bob', first.token));
      expect(granted(await inSimulatedTime(carolWaits))).toBe(first.token + 1n);
      await inSimulatedTime(spread.settle());
    } finally {
      jest.useRealTimers();
    }
  });

  it('leaves no lock unheld when a waiter granted while a server hangs releases through another instance', async () => {
    // The review of cdafc0c (renewals on a timer of their own): a renewal sent while bob's grant round was out
    // queued him again, with his claim, where the round had just granted him; his release through lock-2 then
    // handed the lock to that claim, which nobody takes, for his whole TTL. Renewals go between rounds now.
    const hangMs = 100;
    const servers = threeServers();
    const [s1, s2, s3] = servers;
    const events = new LocalLockEvents();
    for (const server of servers) events.publishFrom(server);
    const instance = (id: string, calls: readonly LockServer[]) =>
      new Locks({
        quorum: new LockQuorum({
          servers: calls,
          nowMs: () => performance.now(),
          callTimeoutMs: hangMs,
          attemptPrefix: id,
        }),
        events,
        logger,
        instanceId: id,
        waiterLeaseMs: 6 * hangMs,
      });
    const lock1 = instance('lock-1', [s1, s2, hanging(s3, hangMs)]);
    const lock2 = instance('lock-2', servers);
    // Alice's TTLs spread bob's grant over the phases of his renewals.
    for (let trial = 0; trial < 8; trial++) {
      const name = `job-${trial}`;
      const aliceTtlMs = 300 + 50 * trial;
      granted(await lock2.acquire({ name, owner: 'alice', ttlMs: aliceTtlMs, waitTimeoutMs: 0 }, never));
      const bob = await lock1.acquire({ name, owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 5_000 }, never);
      if (!bob.acquired) throw new Error(`trial ${trial}: bob was not granted`);
      await lock2.release(name, 'bob', bob.grant.token, bob.grant.attempt);
      // Freed, it is carol's at once; handed to a claim nobody takes, not for a minute.
      const carol = await lock2.acquire({ name, owner: 'carol', ttlMs: 1_000, waitTimeoutMs: 1_000 }, never);
      expect({ trial, carol: carol.acquired }).toEqual({ trial, carol: true });
    }
    await Promise.all([lock1.settle(), lock2.settle()]);
  }, 30_000);

  it("takes a handover that a renewal made between an attempt's steps finds, before a failing round can strand it", async () => {
    // The review of d611718: the renewal before a step found the lock handed to bob; the attempt went on, its
    // next round failed on s1 and s2, the error ended bob's wait, and the lock stayed with his claim for its TTL.
    const callTimeoutMs = 150;
    const servers = threeServers();
    const events = new LocalLockEvents();
    for (const server of servers) events.publishFrom(server);
    const quorumOver = (calls: readonly LockServer[], attemptPrefix: string) =>
      new LockQuorum({ servers: calls, nowMs: () => performance.now(), callTimeoutMs, attemptPrefix });
    const lock2 = new Locks({ quorum: quorumOver(servers, 'lock-2'), events, logger, instanceId: 'lock-2' });
    const alice = granted(await lock2.acquire({ name: 'a', owner: 'alice', ttlMs: 60_000, waitTimeoutMs: 0 }, never));
    let inAttempt = false;
    let s1AndS2Fail = false;
    const calls = servers.map(
      (server, index): LockServer =>
        new Proxy(server, {
          get(target, property, receiver) {
            const value: unknown = Reflect.get(target, property, receiver);
            if (typeof value !== 'function') return value;
            return async (...args: unknown[]) => {
              if (s1AndS2Fail && index < 2 && property !== 'leave') throw new UnavailableError(`${target.id} is down`);
              const apply = () => (value as (...callArgs: unknown[]) => Promise<unknown>).apply(target, args);
              if (property !== 'enqueue' || !inAttempt) return apply();
              // The renewal before a step: alice's release through lock-2 hands the lock to bob's claim first.
              if (index === 0) await lock2.release('a', 'alice', alice);
              const answer = await apply();
              s1AndS2Fail = true;
              return answer;
            };
          },
        }),
    );
    const quorum1 = quorumOver(calls, 'lock-1');
    const tryAcquire = quorum1.tryAcquire.bind(quorum1);
    jest.spyOn(quorum1, 'tryAcquire').mockImplementation(async (...args) => {
      inAttempt = args[3] !== undefined;
      try {
        return await tryAcquire(...args);
      } finally {
        inAttempt = false;
      }
    });
    const queued = occurrence();
    // A lease this short next to the call timeout makes every step of an attempt renew first.
    const lock1 = new Locks({
      quorum: quorum1,
      events,
      logger,
      instanceId: 'lock-1',
      waiterLeaseMs: 300,
      onQueued: () => queued.signal(),
    });
    const bob = lock1.acquire({ name: 'a', owner: 'bob', ttlMs: 60_000, waitTimeoutMs: 5_000 }, never);
    await queued.happened;
    events.emit('a', { kind: 'expired' }, 's1');
    expect(granted(await bob)).toBe(alice + 1n);
    s1AndS2Fail = false;
    await Promise.all([lock1.settle(), lock2.settle()]);
  });

  it('refreshes only the holder, under its token', async () => {
    const token = granted(await locks.acquire({ name: 'a', owner: 'alice', ttlMs: 1_000, waitTimeoutMs: 0 }, never));
    const before = performance.now();
    const refreshed = await locks.refresh('a', 'alice', token, 60_000);
    expect(refreshed.validUntilMs).toBeGreaterThan(before + 50_000);
    await expect(locks.refresh('a', 'mallory', token, 60_000)).rejects.toMatchObject({ kind: 'failed-precondition' });
    await expect(locks.release('a', 'alice', token + 1n)).rejects.toMatchObject({ kind: 'failed-precondition' });
  });
});

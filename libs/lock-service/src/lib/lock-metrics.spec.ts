// The lock metrics over the memory backend: grants by call, the waits of
// calls that may wait (granted or given up), and the waiters and longest
// queue read at each scrape.
import { createLogger } from '@bulwark/logging';
import { registry } from '@bulwark/metrics';
import { parseMetrics, valueOf, type Scrape } from '@bulwark/metrics/testing';
import { memoryBackend, type LockBackend } from './lock-backend';
import { acquireCounted, readLockMetrics } from './lock-metrics';
import { Locks, type AcquireResult } from './locks';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
const never = new AbortController().signal;
const scrape = async (): Promise<Scrape> => parseMetrics(await registry.metrics());

function grantOf(result: AcquireResult) {
  if (!result.acquired) throw new Error('not acquired');
  return result.grant;
}

describe('lock metrics', () => {
  let backend: LockBackend;
  let locks: Locks;
  let queued = 0;
  let onQueued: () => void = () => undefined;

  beforeEach(() => {
    queued = 0;
    backend = memoryBackend();
    locks = new Locks({
      quorum: backend.quorum,
      events: backend.events,
      logger,
      instanceId: 'lock-1:test',
      onQueued: () => {
        queued += 1;
        onQueued();
      },
    });
  });

  afterEach(async () => {
    await locks.settle();
    backend.close();
  });

  /** Resolves once count waiters in all have their place in a queue. */
  const queuedCount = (count: number) =>
    new Promise<void>((resolve) => {
      onQueued = () => {
        if (queued >= count) resolve();
      };
      onQueued();
    });

  const request = (name: string, owner: string, waitTimeoutMs: number) => ({
    name,
    owner,
    ttlMs: 60_000,
    waitTimeoutMs,
  });

  it('counts grants by call and waits by outcome, and reads the waiters and the longest queue when scraped', async () => {
    const stopReading = readLockMetrics(locks);
    const before = await scrape();
    expect(valueOf(before, 'bulwark_lock_waiters')).toBe(0);
    expect(valueOf(before, 'bulwark_lock_queue_length_max')).toBe(0);
    for (const method of ['Acquire', 'TryAcquire', 'Hold']) {
      expect(valueOf(before, 'bulwark_lock_grants_total', { method })).toBe(0);
    }

    const alice = grantOf(await acquireCounted(locks, 'TryAcquire', request('hot', 'alice', 0), never));
    grantOf(await acquireCounted(locks, 'Hold', request('cold', 'xavier', 0), never));
    const refused = await acquireCounted(locks, 'TryAcquire', request('hot', 'mallory', 0), never);
    expect(refused.acquired).toBe(false);
    const bobWaits = acquireCounted(locks, 'Acquire', request('hot', 'bob', 60_000), never);
    await queuedCount(1);
    const carolGivesUp = new AbortController();
    const carolWaits = acquireCounted(locks, 'Acquire', request('hot', 'carol', 60_000), carolGivesUp.signal);
    const daveWaits = acquireCounted(locks, 'Hold', request('cold', 'dave', 200), never);
    await queuedCount(3);

    const waiting = await scrape();
    expect(valueOf(waiting, 'bulwark_lock_waiters')).toBe(3);
    expect(valueOf(waiting, 'bulwark_lock_queue_length_max')).toBe(2);
    // A refused try is no grant, and a try never waits.
    expect(valueOf(waiting, 'bulwark_lock_grants_total', { method: 'TryAcquire' })).toBe(1);
    expect(valueOf(waiting, 'bulwark_lock_grants_total', { method: 'Hold' })).toBe(1);
    expect(valueOf(waiting, 'bulwark_lock_wait_seconds_count', { acquired: 'true' })).toBe(0);

    await locks.release('hot', 'alice', alice.token, alice.attempt);
    grantOf(await bobWaits);
    carolGivesUp.abort();
    expect((await carolWaits).acquired).toBe(false);
    expect((await daveWaits).acquired).toBe(false);

    const after = await scrape();
    expect(valueOf(after, 'bulwark_lock_grants_total', { method: 'Acquire' })).toBe(1);
    expect(valueOf(after, 'bulwark_lock_wait_seconds_count', { acquired: 'true' })).toBe(1);
    expect(valueOf(after, 'bulwark_lock_wait_seconds_count', { acquired: 'false' })).toBe(2);
    // Dave waited out his 200 ms before giving up.
    expect(valueOf(after, 'bulwark_lock_wait_seconds_sum', { acquired: 'false' })).toBeGreaterThanOrEqual(0.2);
    expect(valueOf(after, 'bulwark_lock_waiters')).toBe(0);
    expect(valueOf(after, 'bulwark_lock_queue_length_max')).toBe(0);
    stopReading();
  });
});

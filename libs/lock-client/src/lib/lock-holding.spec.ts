// Held locks against the real lock service in this process: renewals keep
// a lock past its TTL, a holder that stops renewing loses it (told by the
// service, or by its own deadline), and a holder whose instance is killed
// resumes the same grant on another instance, or gives it up at its deadline
// when none is left.
import { once } from 'node:events';
import { createLogger } from '@bulwark/logging';
import { startLockServices, type LockServices } from '../testing/lock-services';
import { LockClient } from './lock-client';
import { CancelledError } from '@bulwark/errors';
import { holdingOf, lossOf } from '../testing/held-locks';
import type { LockHolding } from './lock-holding';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
/** Node timers count whole ms from the event loop's cached clock, so one may fire up to about a ms before its time. */
const timerEarlyMsMax = 2;

/** Waits for renewals until the lock has been held for spanMs; returns how many came. */
async function renewalsFor(lock: LockHolding, spanMs: number): Promise<number> {
  const start = performance.now();
  let renewals = 0;
  while (performance.now() - start < spanMs) {
    await once(lock.events, 'renewed');
    renewals += 1;
  }
  return renewals;
}

describe('held locks on one instance', () => {
  let services: LockServices;
  let client: LockClient;

  beforeAll(async () => {
    services = await startLockServices(1, logger);
    client = new LockClient({ endpoints: services.endpoints, logger });
  });

  afterAll(async () => {
    client.close();
    await services.stop();
  });

  it('keeps the lock past its TTL by renewing every third of it, then releases it', async () => {
    const lock = holdingOf(await client.hold('keep', { owner: 'alice', ttlMs: 600, waitTimeoutMs: 0 }));
    const firstDeadline = lock.validUntilMs;
    expect(firstDeadline).toBeGreaterThan(performance.now());

    const renewals = await renewalsFor(lock, 1_800);
    expect(renewals).toBeGreaterThanOrEqual(6);
    expect(lock.signal.aborted).toBe(false);
    expect(lock.validUntilMs).toBeGreaterThan(firstDeadline + 1_200);
    expect(await client.inspect('keep')).toMatchObject({ held: true, holder: { owner: 'alice', token: lock.token } });

    await lock.release();
    expect((await lossOf(lock)).lossCause).toBe('released-by-holder');
    expect(await client.inspect('keep')).toMatchObject({ held: false });
    // Released once; a second call answers the same.
    await lock.release();
  });

  it('loses the lock, told at once by the service, when the holder stops renewing (a paused process)', async () => {
    const lock = holdingOf(await client.hold('paused', { owner: 'alice', ttlMs: 300, waitTimeoutMs: 0 }));
    // A paused process neither renews nor runs its own expiry timer: only the service's Lost event can tell it.
    lock.stopRenewals();
    lock.stopLocalExpiry();
    const loss = await lossOf(lock);
    expect(loss.lossCause).toBe('expired');
    expect(loss.token).toBe(lock.token);
    expect(performance.now()).toBeGreaterThan(lock.validUntilMs - timerEarlyMsMax);

    // The lease is gone: another owner gets the lock with a higher token; the late release says the lock was lost.
    const next = await client.hold('paused', { owner: 'bob', ttlMs: 1_000, waitTimeoutMs: 1_000 });
    if (!next) throw new Error('expected the lock after the loss');
    expect(next.token).toBeGreaterThan(lock.token);
    await expect(lock.release()).rejects.toBe(loss);
    await next.release();
  });

  it('aborts at its own validity deadline when no renewal extends it, never before', async () => {
    const lock = holdingOf(await client.hold('slow', { owner: 'alice', ttlMs: 300, waitTimeoutMs: 0 }));
    lock.stopRenewals();
    const loss = await lossOf(lock);
    expect(loss.lossCause).toBe('expired-locally');
    expect(performance.now()).toBeGreaterThan(lock.validUntilMs - timerEarlyMsMax);
    await expect(lock.release()).rejects.toBe(loss);
  });

  it('takes the lock after a wait longer than its TTL and still hands it out with time to act', async () => {
    const first = holdingOf(await client.hold('queue', { owner: 'alice', ttlMs: 900, waitTimeoutMs: 0 }));
    const sentAt = performance.now();
    const waiting = client.hold('queue', { owner: 'bob', ttlMs: 300, waitTimeoutMs: 5_000 });
    // Held for twice the waiter's TTL: counted from the acquire's sending, the waiter's grant is spent on arrival.
    await renewalsFor(first, 600);
    await first.release();
    const releasedAt = performance.now();
    const second = await waiting;
    if (!second) throw new Error('expected the waiter to get the lock');
    expect(second.token).toBeGreaterThan(first.token);
    expect(second.signal.aborted).toBe(false);
    expect(releasedAt - sentAt).toBeGreaterThan(300);
    // Its deadline comes from a renewal sent after the grant, not from the acquire sent before the wait.
    expect(second.validUntilMs).toBeGreaterThan(releasedAt);
    expect(second.validUntilMs).toBeLessThanOrEqual(performance.now() + 300);
    await second.release();
  });

  it('cancels a wait when the caller aborts it, leaving the lock to the others', async () => {
    const holder = await client.hold('cancel', { owner: 'alice', ttlMs: 5_000, waitTimeoutMs: 0 });
    if (!holder) throw new Error('expected the lock');
    const cancel = new AbortController();
    // Bob's TTL outlasts carol's wait: a grant made as the cancel reaches the service must be released, not kept.
    const waiting = client.hold('cancel', {
      owner: 'bob',
      ttlMs: 60_000,
      waitTimeoutMs: 20_000,
      signal: cancel.signal,
    });
    cancel.abort();
    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
    await holder.release();
    const next = await client.hold('cancel', { owner: 'carol', ttlMs: 5_000, waitTimeoutMs: 10_000 });
    expect(next?.token).toBeGreaterThan(holder.token);
    await next?.release();
  });
});

describe('held locks across instances', () => {
  let services: LockServices;

  beforeEach(async () => {
    services = await startLockServices(2, logger);
  });

  afterEach(() => services.stop());

  it('resumes the same grant on the other instance when its instance is killed, and keeps the lock', async () => {
    const client = new LockClient({ endpoints: services.endpoints, logger });
    const observer = new LockClient({ endpoints: [services.endpoints[1] as string], logger });
    try {
      // A new client's first stream goes to the first endpoint.
      const lock = holdingOf(await client.hold('failover', { owner: 'alice', ttlMs: 900, waitTimeoutMs: 0 }));
      const resumed = once(lock.events, 'resumed');
      await services.servers[0]?.drain('killed by the test');
      // A loss instead of a resume fails the test at once, with its cause.
      const [address] = await Promise.race([resumed, lossOf(lock).then((loss) => Promise.reject(loss))]);
      expect(address).toBe(services.endpoints[1]);
      expect(lock.signal.aborted).toBe(false);

      // Kept well past the TTL by renewals on the surviving instance.
      const deadlineAtResume = lock.validUntilMs;
      await renewalsFor(lock, 1_800);
      expect(lock.signal.aborted).toBe(false);
      expect(lock.validUntilMs).toBeGreaterThan(deadlineAtResume + 900);
      expect(await observer.inspect('failover')).toMatchObject({
        memberId: 'lock-2',
        held: true,
        holder: { owner: 'alice', token: lock.token },
        lastToken: lock.token,
      });

      await lock.release();
      expect((await observer.inspect('failover')).held).toBe(false);
    } finally {
      client.close();
      observer.close();
    }
  });

  it('gives the lock up at its deadline when no instance is left to resume it', async () => {
    const client = new LockClient({ endpoints: services.endpoints, logger });
    try {
      const lock = holdingOf(await client.hold('orphan', { owner: 'alice', ttlMs: 400, waitTimeoutMs: 0 }));
      await Promise.all(services.servers.map((server) => server.drain('killed by the test')));
      const loss = await lossOf(lock);
      expect(loss.lossCause).toBe('expired-locally');
      expect(performance.now()).toBeGreaterThan(lock.validUntilMs - timerEarlyMsMax);
      await expect(lock.release()).rejects.toBe(loss);
    } finally {
      client.close();
    }
  });

  it('ends held locks when the client is closed, leaving the lease to expire', async () => {
    const client = new LockClient({ endpoints: services.endpoints, logger });
    const observer = new LockClient({ endpoints: services.endpoints, logger });
    try {
      const lock = await client.hold('closing', { owner: 'alice', ttlMs: 5_000, waitTimeoutMs: 0 });
      if (!lock) throw new Error('expected the lock');
      client.close();
      expect((await lossOf(lock)).lossCause).toBe('client-closed');
      expect(await observer.inspect('closing')).toMatchObject({ held: true, holder: { token: lock.token } });
    } finally {
      observer.close();
    }
  });
});

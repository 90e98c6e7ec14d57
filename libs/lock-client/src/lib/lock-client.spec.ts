// The unary calls against the real lock service in this process: grants,
// holders, refreshes, releases, typed errors naming the field, and a call
// that moves past an instance that cannot be reached.
import { lockV1 } from '@bulwark/contracts';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from '@bulwark/errors';
import { rejection } from '@bulwark/errors/testing';
import { createLogger } from '@bulwark/logging';
import { startServer } from '@bulwark/rpc';
import { freePort } from '@bulwark/testing';
import { startLockServices, type LockServices } from '../testing/lock-services';
import { LockClient } from './lock-client';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });

describe('LockClient unary calls', () => {
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

  it('grants a free lock, names its holder to others, refreshes and releases it', async () => {
    const before = performance.now();
    const grant = await client.tryAcquire('unary-a', { owner: 'alice', ttlMs: 5_000 });
    if (!grant.acquired) throw new Error('expected a grant');
    expect(grant.token).toBeGreaterThan(0n);
    // Counted from the sending: never more than the TTL after the call began.
    expect(grant.validUntilMs).toBeGreaterThan(performance.now());
    expect(grant.validUntilMs).toBeLessThanOrEqual(performance.now() + 5_000);
    expect(grant.validUntilMs).toBeGreaterThan(before);

    const refused = await client.tryAcquire('unary-a', { owner: 'bob', ttlMs: 5_000 });
    expect(refused).toEqual({
      acquired: false,
      holder: { owner: 'alice', token: grant.token, remainingTtlMs: expect.any(Number) },
    });

    const state = await client.inspect('unary-a');
    expect(state).toMatchObject({
      memberId: 'lock-1',
      held: true,
      holder: { owner: 'alice', token: grant.token },
      lastToken: grant.token,
      backend: { kind: 'memory', servers: 1, majority: 1, unanswered: [] },
    });

    const renewal = await client.refresh('unary-a', 'alice', grant.token, 5_000);
    expect(renewal.validUntilMs).toBeGreaterThanOrEqual(grant.validUntilMs);

    // Exactly this grant: another lease id under the same owner and token frees nothing.
    expect(await rejection(client.release('unary-a', 'alice', grant.token, `${grant.leaseId}x`))).toBeInstanceOf(
      FailedPreconditionError,
    );
    await client.release('unary-a', 'alice', grant.token, grant.leaseId);
    expect(await client.inspect('unary-a')).toMatchObject({ held: false, holder: undefined, lastToken: grant.token });
  });

  it('waits in Acquire until the holder releases, then grants a higher token', async () => {
    const first = await client.tryAcquire('unary-b', { owner: 'alice', ttlMs: 10_000 });
    if (!first.acquired) throw new Error('expected a grant');
    const waiting = client.acquire('unary-b', { owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 20_000 });
    await client.release('unary-b', 'alice', first.token);
    const second = await waiting;
    if (!second.acquired) throw new Error('expected the waiter to be granted');
    expect(second.token).toBeGreaterThan(first.token);
    await client.release('unary-b', 'bob', second.token);
  });

  it('never returns a grant whose validity, counted from the sending, a long wait has spent: it renews it first', async () => {
    const first = await client.tryAcquire('unary-d', { owner: 'alice', ttlMs: 400 });
    if (!first.acquired) throw new Error('expected a grant');
    // Bob's TTL is shorter than his wait for alice's lease to run out.
    const second = await client.acquire('unary-d', { owner: 'bob', ttlMs: 300, waitTimeoutMs: 5_000 });
    if (!second.acquired) throw new Error('expected the waiter to be granted');
    expect(second.validUntilMs - performance.now()).toBeGreaterThan(100);
    await client.release('unary-d', 'bob', second.token);
  });

  it('returns such a grant as it was given when told not to renew short grants, so a recorder sees every token', async () => {
    const first = await client.tryAcquire('unary-e', { owner: 'alice', ttlMs: 400 });
    if (!first.acquired) throw new Error('expected a grant');
    const second = await client.acquire('unary-e', {
      owner: 'bob',
      ttlMs: 300,
      waitTimeoutMs: 5_000,
      renewShortGrant: false,
    });
    if (!second.acquired) throw new Error('expected the waiter to be granted');
    expect(second.token).toBeGreaterThan(first.token);
    // Counted from the sending, before alice's 400 ms lease ran out, bob's 300 ms lease is spent or nearly.
    expect(second.validUntilMs - performance.now()).toBeLessThan(100);
  });

  it('ends an Acquire wait without the lock, naming the holder', async () => {
    const first = await client.tryAcquire('unary-c', { owner: 'alice', ttlMs: 10_000 });
    if (!first.acquired) throw new Error('expected a grant');
    const result = await client.acquire('unary-c', { owner: 'bob', ttlMs: 10_000, waitTimeoutMs: 150 });
    expect(result).toEqual({
      acquired: false,
      holder: expect.objectContaining({ owner: 'alice', token: first.token }),
    });
    await client.release('unary-c', 'alice', first.token);
  });

  it('rebuilds the service errors as typed errors naming the field', async () => {
    const empty = await rejection(client.tryAcquire('', { owner: 'alice', ttlMs: 5_000 }));
    expect(empty).toBeInstanceOf(InvalidArgumentError);
    expect(empty.details.field).toBe('name');

    const shortTtl = await rejection(client.acquire('unary-d', { owner: 'alice', ttlMs: 5, waitTimeoutMs: 0 }));
    expect(shortTtl).toBeInstanceOf(InvalidArgumentError);
    expect(shortTtl.details.field).toBe('ttl_ms');

    const grant = await client.tryAcquire('unary-d', { owner: 'alice', ttlMs: 5_000 });
    if (!grant.acquired) throw new Error('expected a grant');
    const wrongToken = await rejection(client.release('unary-d', 'alice', grant.token + 1n));
    expect(wrongToken).toBeInstanceOf(FailedPreconditionError);
    const wrongOwner = await rejection(client.refresh('unary-d', 'mallory', grant.token, 5_000));
    expect(wrongOwner).toBeInstanceOf(FailedPreconditionError);
    await client.release('unary-d', 'alice', grant.token);
  });

  it('moves a call past an instance that cannot be reached', async () => {
    const deadAddress = `127.0.0.1:${await freePort()}`;
    const spread = new LockClient({ endpoints: [deadAddress, ...services.endpoints], logger });
    try {
      // Two calls: whichever instance the cursor starts at, one of them tries the dead one first.
      expect((await spread.inspect('unary-e')).memberId).toBe('lock-1');
      expect((await spread.inspect('unary-e')).memberId).toBe('lock-1');
    } finally {
      spread.close();
    }
  });

  it('takes a release as done when an instance that may have done it answered UNAVAILABLE', async () => {
    // An instance that releases and then loses its answer, as one whose Redis round timed out after applying.
    const lossy = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 1_000 }, (kit) => [
      {
        definition: lockV1.LockService,
        implementation: {
          release: kit.unary(async (request: lockV1.ReleaseRequest) => {
            await client.release(request.name, request.owner, request.token);
            throw new UnavailableError('the answer was lost');
          }),
        },
      },
    ]);
    const spread = new LockClient({ endpoints: [`127.0.0.1:${lossy.port}`, ...services.endpoints], logger });
    try {
      const grant = await client.tryAcquire('unary-f', { owner: 'alice', ttlMs: 10_000 });
      if (!grant.acquired) throw new Error('expected a grant');
      // The first instance tried is the lossy one; the next finds the grant gone, which is what was asked.
      await spread.release('unary-f', 'alice', grant.token);
      expect(await client.inspect('unary-f')).toMatchObject({ held: false });
      // Asked of an instance straight away, a release of a grant that is gone is still an error.
      expect(await rejection(client.release('unary-f', 'alice', grant.token))).toBeInstanceOf(FailedPreconditionError);
    } finally {
      spread.close();
      await lossy.drain('test done');
    }
  });

  it('refuses calls once closed', async () => {
    const closed = new LockClient({ endpoints: services.endpoints });
    closed.close();
    expect((await rejection(closed.inspect('unary-f'))).kind).toBe('cancelled');
    expect((await rejection(closed.hold('unary-f', { owner: 'a', ttlMs: 1_000, waitTimeoutMs: 0 }))).kind).toBe(
      'cancelled',
    );
  });
});

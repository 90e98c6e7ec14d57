// withLock against the real lock service in this process: the work runs
// with a token and the lock is released whatever the work does; waits that
// end without the lock, losses while the work runs and bad input are errors
// that say what happened.
import { once } from 'node:events';
import { InvalidArgumentError } from '@bulwark/errors';
import { rejection } from '@bulwark/errors/testing';
import { createLogger } from '@bulwark/logging';
import { startLockServices, type LockServices } from '../testing/lock-services';
import { LockClient } from './lock-client';
import { LockLostError, LockNotAcquiredError } from './lock-errors';
import { withLock } from './with-lock';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });

describe('withLock', () => {
  let services: LockServices;
  let client: LockClient;
  let other: LockClient;

  beforeAll(async () => {
    services = await startLockServices(1, logger);
    client = new LockClient({ endpoints: services.endpoints, logger });
    other = new LockClient({ endpoints: services.endpoints, logger });
  });

  afterAll(async () => {
    client.close();
    other.close();
    await services.stop();
  });

  it('runs fn with a token while the lock is held, and releases it after', async () => {
    const result = await withLock(client, 'job-a', async ({ token, signal }) => {
      expect(signal.aborted).toBe(false);
      const state = await other.inspect('job-a');
      expect(state.held).toBe(true);
      expect(state.holder?.token).toBe(token);
      return token;
    });
    expect(result).toBeGreaterThan(0n);
    expect(await other.inspect('job-a')).toMatchObject({ held: false, holder: undefined, lastToken: result });
  });

  it('gives every run a higher token than the one before', async () => {
    const tokens: bigint[] = [];
    for (let run = 0; run < 4; run += 1) tokens.push(await withLock(client, 'job-b', async ({ token }) => token));
    for (let index = 1; index < tokens.length; index += 1) {
      expect(tokens[index] as bigint).toBeGreaterThan(tokens[index - 1] as bigint);
    }
  });

  it('lets one run at a time among concurrent callers, in token order', async () => {
    let inside = 0;
    const granted: bigint[] = [];
    await Promise.all(
      Array.from({ length: 4 }, (_, caller) =>
        withLock(
          caller % 2 === 0 ? client : other,
          'job-c',
          async ({ token }) => {
            expect(inside).toBe(0);
            inside += 1;
            granted.push(token);
            // Let the other callers' streams and the service run while this one holds the lock.
            await other.inspect('job-c');
            inside -= 1;
          },
          { waitTimeoutMs: 20_000 },
        ),
      ),
    );
    expect(granted).toHaveLength(4);
    expect([...granted].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(granted);
    expect((await other.inspect('job-c')).held).toBe(false);
  });

  it("rethrows fn's own error and still releases the lock", async () => {
    const failure = new Error('the work failed');
    let held: bigint | undefined;
    const error = await withLock(client, 'job-d', async ({ token }) => {
      held = token;
      throw failure;
    }).catch((caught: unknown) => caught);
    expect(error).toBe(failure);
    expect(await other.inspect('job-d')).toMatchObject({ held: false, lastToken: held });
  });

  it('throws LockNotAcquiredError naming the holder when the wait ends first', async () => {
    const holder = await client.hold('job-e', { owner: 'long-holder', ttlMs: 10_000, waitTimeoutMs: 0 });
    if (!holder) throw new Error('expected the lock');
    try {
      const error = await rejection(withLock(other, 'job-e', async () => 'never', { waitTimeoutMs: 200 }));
      expect(error).toBeInstanceOf(LockNotAcquiredError);
      expect((error as LockNotAcquiredError).holder).toMatchObject({ owner: 'long-holder', token: holder.token });
      expect(error.message).toContain('"long-holder"');
      expect(error.retryable).toBe(true);
      expect(await other.hold('job-e', { owner: 'b', ttlMs: 10_000, waitTimeoutMs: 100 })).toBeUndefined();
    } finally {
      await holder.release();
    }
  });

  it("aborts fn's signal with cause released when another call releases the grant", async () => {
    let reason: unknown;
    const error = await rejection(
      withLock(
        client,
        'job-f',
        async ({ token, signal }) => {
          const aborted = once(signal, 'abort');
          await other.release('job-f', 'worker-f', token);
          await aborted;
          reason = signal.reason;
          return 'finished after the loss';
        },
        { owner: 'worker-f' },
      ),
    );
    expect(reason).toBeInstanceOf(LockLostError);
    expect((reason as LockLostError).lossCause).toBe('released');
    // fn finished after the loss: the caller hears of it instead of a result.
    expect(error).toBe(reason);
    expect((await other.inspect('job-f')).held).toBe(false);
  });

  it('surfaces bad input as an error naming the field', async () => {
    const error = await rejection(withLock(client, '', async () => 'never'));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.details.field).toBe('acquire.name');
    const ttl = await rejection(withLock(client, 'job-g', async () => 'never', { ttlMs: 1 }));
    expect(ttl.details.field).toBe('acquire.ttl_ms');
  });
});

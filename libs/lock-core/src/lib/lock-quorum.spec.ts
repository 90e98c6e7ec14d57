import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { LockQuorum } from './lock-quorum';
import type { LockServer } from './lock-server';
import { MemoryLockServer } from './memory-lock-server';

function quorumOf(count: number) {
  const clock = { nowMs: 1_000 };
  const servers = Array.from({ length: count }, (_, index) => new MemoryLockServer(`s${index + 1}`, () => clock.nowMs));
  const quorum = new LockQuorum({ servers, nowMs: () => clock.nowMs, callTimeoutMs: 100 });
  return { clock, servers, quorum };
}

/** A server that applies a call and then fails to answer it: its outcome is unknown to the caller. */
function answerLost(server: MemoryLockServer, method: 'grant' | 'release'): LockServer {
  return new Proxy(server, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await (value as (...args: unknown[]) => Promise<unknown>).apply(target, args);
        throw new UnavailableError('the answer was lost');
      };
    },
  });
}

describe('LockQuorum', () => {
  it('grants a free lock with token 1, and each later grant one above the last', async () => {
    const { quorum } = quorumOf(3);
    const first = await quorum.tryAcquire('job', 'alice', 1_000);
    expect(first).toEqual({ acquired: true, grant: { token: 1n, validUntilMs: 1_000 + 1_000 - 12 } });
    await quorum.release('job', 'alice', 1n);
    const second = await quorum.tryAcquire('job', 'bob', 1_000);
    expect(second).toMatchObject({ acquired: true, grant: { token: 2n } });
    expect(await quorum.tryAcquire('other', 'bob', 1_000)).toMatchObject({ acquired: true, grant: { token: 1n } });
  });

  it('refuses a held lock, naming the holder, until its lease runs out', async () => {
    const { quorum, clock } = quorumOf(3);
    await quorum.tryAcquire('job', 'alice', 1_000);
    clock.nowMs += 400;
    expect(await quorum.tryAcquire('job', 'bob', 1_000)).toEqual({
      acquired: false,
      holder: { owner: 'alice', token: 1n, remainingTtlMs: 600 },
    });
    // Also for the holder itself: a second grant needs a release first.
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({ acquired: false });
    clock.nowMs += 600;
    expect(await quorum.tryAcquire('job', 'bob', 1_000)).toMatchObject({ acquired: true, grant: { token: 2n } });
  });

  it('keeps working with one of three servers down, and never grants with two down', async () => {
    const { quorum, servers } = quorumOf(3);
    expect(quorum.faultTolerant).toBe(true);
    (servers[0] as MemoryLockServer).up = false;
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({ acquired: true, grant: { token: 1n } });
    await quorum.release('job', 'alice', 1n);
    (servers[1] as MemoryLockServer).up = false;
    await expect(quorum.tryAcquire('job', 'bob', 1_000)).rejects.toBeInstanceOf(UnavailableError);
    // The one server still up granted nothing.
    expect(await (servers[2] as MemoryLockServer).inspect('job')).toEqual({ fence: 1n, holder: undefined });
    expect(quorumOf(1).quorum.faultTolerant).toBe(false);
    expect(quorumOf(2).quorum.faultTolerant).toBe(false);
  });

  it('never lets a high fence outside the next majority make two grants share a token', async () => {
    const { quorum, servers } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    // c alone saw grants up to 5 (the others were down then); a and b only token 1.
    await quorum.tryAcquire('job', 'alice', 1_000);
    await quorum.release('job', 'alice', 1n);
    a.up = false;
    b.up = false;
    for (let token = 2n; token <= 5n; token++) {
      await c.grant('job', 'x', token, 1_000);
      await c.release('job', 'x', token);
    }
    a.up = true;
    b.up = true;
    c.up = false;
    // a and b read 1: token 2, which c (down) never sees raised.
    expect(await quorum.tryAcquire('job', 'bob', 1_000)).toMatchObject({ acquired: true, grant: { token: 2n } });
    await quorum.release('job', 'bob', 2n);
    c.up = true;
    a.up = false;
    // b (2) and c (5): token 6, above both; c refuses nothing below its fence, and no token repeats.
    expect(await quorum.tryAcquire('job', 'carol', 1_000)).toMatchObject({ acquired: true, grant: { token: 6n } });
  });

  it('undoes a grant whose validity was spent before it completed, and returns none', async () => {
    const { quorum, servers, clock } = quorumOf(3);
    const slow = servers.map(
      (server) =>
        new Proxy(server, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver);
            if (property !== 'grant' || typeof value !== 'function') return value;
            return async (...args: unknown[]) => {
              clock.nowMs += 40;
              return (value as (...args: unknown[]) => Promise<unknown>).apply(target, args);
            };
          },
        }),
    );
    const quorum3 = new LockQuorum({ servers: slow, nowMs: () => clock.nowMs, callTimeoutMs: 100 });
    // 100 ms TTL, 3 ms of drift allowance, 120 ms spent granting: nothing is left of it.
    expect(await quorum3.tryAcquire('job', 'alice', 100)).toEqual({ acquired: false, holder: undefined });
    expect(await quorum.inspect('job')).toEqual({ fence: 1n, holder: undefined });
  });

  it('undoes a grant a majority did not take, also where its answer was lost', async () => {
    const { servers, clock } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    // A leftover holder on b (a grant whose undo never reached it), and a lost answer from c.
    await b.grant('job', 'ghost', 7n, 10_000);
    const quorum = new LockQuorum({
      servers: [a, b, answerLost(c, 'grant')],
      nowMs: () => clock.nowMs,
      callTimeoutMs: 100,
    });
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toEqual({
      acquired: false,
      holder: { owner: 'ghost', token: 7n, remainingTtlMs: 10_000 },
    });
    // c applied the grant and was told to undo it: only the leftover remains.
    expect((await c.inspect('job')).holder).toBeUndefined();
    expect((await a.inspect('job')).holder).toBeUndefined();
    expect((await c.inspect('job')).fence).toBe(8n);
  });

  it('refreshes and releases only for the holder, naming token otherwise', async () => {
    const { quorum, clock } = quorumOf(3);
    await quorum.tryAcquire('job', 'alice', 1_000);
    clock.nowMs += 900;
    expect(await quorum.refresh('job', 'alice', 1n, 1_000)).toEqual({ token: 1n, validUntilMs: 1_900 + 1_000 - 12 });
    clock.nowMs += 900;
    expect(await quorum.inspect('job')).toEqual({
      fence: 1n,
      holder: { owner: 'alice', token: 1n, remainingTtlMs: 100 },
    });
    await expect(quorum.release('job', 'bob', 1n)).rejects.toMatchObject({ details: { field: 'token' } });
    await expect(quorum.refresh('job', 'alice', 2n, 1_000)).rejects.toBeInstanceOf(FailedPreconditionError);
    clock.nowMs += 100;
    // Expired: no longer the holder.
    await expect(quorum.release('job', 'alice', 1n)).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(quorum.refresh('job', 'alice', 1n, 1_000)).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it('reports a holder only when a majority agree on it', async () => {
    const { quorum, servers } = quorumOf(3);
    await (servers[0] as MemoryLockServer).grant('job', 'ghost', 3n, 1_000);
    expect(await quorum.inspect('job')).toEqual({ fence: 3n, holder: undefined });
  });
});

import { AbortedError, FailedPreconditionError, InvalidArgumentError, UnavailableError } from '@bulwark/errors';
import { seededUniform } from '@bulwark/random';
import { LockQuorum, stepRoundsMax, type LockQuorumOptions } from './lock-quorum';
import type { LockServer } from './lock-server';
import { tokenMax } from './lock-tokens';
import { ticketMax } from './lock-waiters';
import { MemoryLockServer } from './memory-lock-server';

/** A quorum over servers on the test clock, taking tickets from 1 up (wall clock 0, no random spread). */
function quorumOn(servers: readonly LockServer[], clock: { nowMs: number }, options: Partial<LockQuorumOptions> = {}) {
  return new LockQuorum({
    servers,
    nowMs: () => clock.nowMs,
    wallClockMs: () => 0,
    random: () => 0,
    callTimeoutMs: 100,
    ...options,
  });
}

function quorumOf(count: number) {
  const clock = { nowMs: 1_000 };
  const servers = Array.from({ length: count }, (_, index) => new MemoryLockServer(`s${index + 1}`, () => clock.nowMs));
  const quorum = quorumOn(servers, clock, { attemptPrefix: 'i1' });
  return { clock, servers, quorum };
}

type Method = 'grant' | 'release' | 'enqueue' | 'leave';

/** A server that applies a call and then fails to answer it: its outcome is unknown to the caller. */
function answerLost(server: MemoryLockServer, method: Method): LockServer {
  return intercept(server, method, async (apply) => {
    await apply();
    throw new UnavailableError('the answer was lost');
  });
}

function intercept(
  server: MemoryLockServer,
  method: Method,
  call: (apply: () => Promise<unknown>) => Promise<unknown>,
): LockServer {
  return new Proxy(server, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        call(() => (value as (...args: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}

/** A server whose calls of method wait for opened before they are applied. */
function heldBack(server: MemoryLockServer, method: Method, opened: Promise<void>): LockServer {
  return intercept(server, method, async (apply) => {
    await opened;
    return apply();
  });
}

/** A server that never receives calls of method: they fail, unapplied. */
function requestLost(server: MemoryLockServer, method: Method): LockServer {
  return intercept(server, method, () => Promise.reject(new UnavailableError('the request was lost')));
}

function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Each server's holder of name, as owner:token:attempt, or '-' when free. */
async function holdersOf(servers: readonly MemoryLockServer[], name: string) {
  return Promise.all(
    servers.map(async (server) => {
      const { holder } = await server.inspect(name);
      return holder ? `${holder.owner}:${holder.token}:${holder.attempt}` : '-';
    }),
  );
}

/** Each server's queue head and length for name. */
async function queuesOf(servers: readonly MemoryLockServer[], name: string) {
  return Promise.all(servers.map(async (server) => (await server.inspect(name)).queue));
}

describe('LockQuorum', () => {
  it('grants a free lock with token 1, and each later grant one above the last', async () => {
    const { quorum } = quorumOf(3);
    const first = await quorum.tryAcquire('job', 'alice', 1_000);
    expect(first).toEqual({ acquired: true, grant: { token: 1n, attempt: 'i1.1', validUntilMs: 1_000 + 1_000 - 12 } });
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
      holder: { owner: 'alice', token: 1n, attempt: 'i1.1', remainingTtlMs: 600 },
      queued: false,
    });
    // Also for the holder itself: a second grant needs a release first.
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({ acquired: false });
    clock.nowMs += 600;
    expect(await quorum.tryAcquire('job', 'bob', 1_000)).toMatchObject({ acquired: true, grant: { token: 2n } });
  });

  it('grants in one round with the token after the last fence it saw, and reads first when that guess is stale', async () => {
    const { servers, clock } = quorumOf(3);
    let inspects = 0;
    const counted = servers.map(
      (server) =>
        new Proxy(server, {
          get(target, property, receiver) {
            if (property === 'inspect') inspects += 1;
            return Reflect.get(target, property, receiver);
          },
        }),
    );
    const quorum = quorumOn(counted, clock);
    const other = quorumOn(servers, clock);
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({ grant: { token: 1n } });
    expect(inspects).toBe(3);
    await quorum.release('job', 'alice', 1n);
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({ grant: { token: 2n } });
    expect(inspects).toBe(3);
    await quorum.release('job', 'alice', 2n);
    // Another instance took tokens 3 and 4: the guess 3 is stale everywhere, undone, and the read finds 5.
    for (const token of [3n, 4n]) {
      expect(await other.tryAcquire('job', 'bob', 1_000)).toMatchObject({ grant: { token } });
      await other.release('job', 'bob', token);
    }
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({ grant: { token: 5n } });
    expect(inspects).toBe(6);
    // A release heard of (published by the servers) is a fence too.
    await other.release('job', 'alice', 5n);
    expect(await other.tryAcquire('job', 'bob', 1_000)).toMatchObject({ grant: { token: 6n } });
    await other.release('job', 'bob', 6n);
    quorum.noteFence('job', 6n);
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({ grant: { token: 7n } });
    expect(inspects).toBe(6);
  });

  it('keeps working with one of three servers down, and never grants with two down', async () => {
    const { quorum, servers } = quorumOf(3);
    expect(quorum.faultTolerant).toBe(true);
    (servers[0] as MemoryLockServer).up = false;
    expect(await quorum.inspect('job')).toMatchObject({ answered: 2, unanswered: ['lock server s1 is down'] });
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({ acquired: true, grant: { token: 1n } });
    await quorum.release('job', 'alice', 1n);
    (servers[1] as MemoryLockServer).up = false;
    await expect(quorum.tryAcquire('job', 'bob', 1_000)).rejects.toBeInstanceOf(UnavailableError);
    // The refusal says which servers failed and why: an operator sees where to look.
    await expect(quorum.inspect('job')).rejects.toThrow(
      'only 1 of 3 lock servers answered; 2 are needed to read the lock (lock server s1 is down; lock server s2 is down)',
    );
    // The one server still up holds nothing (a guessed grant there was undone; its fence may have moved up).
    expect(await (servers[2] as MemoryLockServer).inspect('job')).toMatchObject({
      holder: undefined,
      queue: { head: undefined, length: 0 },
    });
    (servers[0] as MemoryLockServer).up = true;
    expect(await quorum.tryAcquire('job', 'bob', 1_000)).toMatchObject({ acquired: true });
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
      await c.grant('job', 'x', token, `x.${token}`, 1_000);
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
    const quorum3 = quorumOn(slow, clock);
    // 100 ms TTL, 3 ms of drift allowance, 120 ms spent granting: nothing is left of it.
    expect(await quorum3.tryAcquire('job', 'alice', 100)).toEqual({
      acquired: false,
      holder: undefined,
      queued: false,
    });
    expect(await quorum.inspect('job')).toEqual({
      fence: 1n,
      holder: undefined,
      waiters: 0,
      answered: 3,
      unanswered: [],
    });
  });

  it('undoes a grant a majority did not take, also where its answer was lost', async () => {
    const { servers, clock } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    // A leftover holder on b (a grant whose undo never reached it), and a lost answer from c.
    await b.grant('job', 'ghost', 7n, 'ghost.7', 10_000);
    const quorum = quorumOn([a, b, answerLost(c, 'grant')], clock);
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toEqual({
      acquired: false,
      holder: { owner: 'ghost', token: 7n, attempt: 'ghost.7', remainingTtlMs: 10_000 },
      queued: false,
    });
    // c applied the grant and was told to undo it: only the leftover remains.
    expect((await c.inspect('job')).holder).toBeUndefined();
    expect((await a.inspect('job')).holder).toBeUndefined();
    expect((await c.inspect('job')).fence).toBe(8n);
  });

  it("asks again, without waiting, where an undo's release got no answer, so the grant does not hold there", async () => {
    const { servers, clock } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    await b.grant('job', 'ghost', 7n, 'ghost.7', 10_000);
    // c applies the grant but its answer is lost, and so is the first release that would undo it there.
    let releasesLost = 1;
    const flaky = intercept(answerLost(c, 'grant') as MemoryLockServer, 'release', (apply) => {
      if (releasesLost === 0) return apply();
      releasesLost -= 1;
      return Promise.reject(new UnavailableError('the request was lost'));
    });
    const quorum = quorumOn([a, b, flaky], clock);
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({ acquired: false });
    expect(releasesLost).toBe(0);
    // The retry runs in the background: a few turns of the event loop.
    for (let turn = 0; turn < 100 && (await c.inspect('job')).holder !== undefined; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await holdersOf(servers, 'job')).toEqual(['-', 'ghost:7:ghost.7', '-']);
  });

  it('refreshes and releases only for the holder, naming token otherwise', async () => {
    const { quorum, clock } = quorumOf(3);
    await quorum.tryAcquire('job', 'alice', 1_000);
    clock.nowMs += 900;
    expect(await quorum.refresh('job', 'alice', 1n, 1_000)).toEqual({
      token: 1n,
      attempt: 'i1.1',
      validUntilMs: 1_900 + 1_000 - 12,
    });
    clock.nowMs += 900;
    expect(await quorum.inspect('job')).toEqual({
      fence: 1n,
      holder: { owner: 'alice', token: 1n, attempt: 'i1.1', remainingTtlMs: 100 },
      waiters: 0,
      answered: 3,
      unanswered: [],
    });
    await expect(quorum.release('job', 'bob', 1n)).rejects.toMatchObject({ details: { field: 'token' } });
    await expect(quorum.refresh('job', 'alice', 2n, 1_000)).rejects.toBeInstanceOf(FailedPreconditionError);
    clock.nowMs += 100;
    // Expired: no longer the holder.
    await expect(quorum.release('job', 'alice', 1n)).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(quorum.refresh('job', 'alice', 1n, 1_000)).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it('answers a release under the largest token it does not hold with FAILED_PRECONDITION, never UNAVAILABLE', async () => {
    const { quorum } = quorumOf(3);
    await quorum.tryAcquire('job', 'alice', 1_000);
    // No token follows 2^64 - 1 to hand the lock over under: the release goes without a handover.
    await expect(quorum.release('job', 'alice', tokenMax)).rejects.toMatchObject({ details: { field: 'token' } });
  });

  it('reports a holder only when a majority agree on it', async () => {
    const { quorum, servers } = quorumOf(3);
    await (servers[0] as MemoryLockServer).grant('job', 'ghost', 3n, 'ghost.3', 1_000);
    expect(await quorum.inspect('job')).toEqual({
      fence: 3n,
      holder: undefined,
      waiters: 0,
      answered: 3,
      unanswered: [],
    });
  });
});

describe('LockQuorum attempts', () => {
  // Tokens are unique among grants that counted only; attempts are unique among all of them.
  function recordingGrants(servers: readonly MemoryLockServer[]) {
    const calls: string[] = [];
    for (const server of servers) {
      const grant = server.grant.bind(server);
      jest.spyOn(server, 'grant').mockImplementation((name, owner, token, attempt, ...rest) => {
        calls.push(`${server.id} ${owner} ${token} ${attempt}`);
        return grant(name, owner, token, attempt, ...rest);
      });
    }
    return { calls };
  }

  it.each([1, 3])(
    'over %i server(s), two concurrent attempts by one owner on one token: the refused one leaves the grant alone',
    async (count) => {
      const { quorum, servers } = quorumOf(count);
      const { calls } = recordingGrants(servers);
      const [first, second] = await Promise.all([
        quorum.tryAcquire('job', 'worker-1', 1_000),
        quorum.tryAcquire('job', 'worker-1', 1_000),
      ]);
      // Both read fence 0 and tried token 1, each as an attempt of its own.
      expect(calls.filter((call) => call.endsWith('worker-1 1 i1.1'))).toHaveLength(count);
      expect(calls.filter((call) => call.endsWith('worker-1 1 i1.2'))).toHaveLength(count);
      expect(first).toEqual({ acquired: true, grant: { token: 1n, attempt: 'i1.1', validUntilMs: 1_988 } });
      expect(second).toMatchObject({ acquired: false, holder: { owner: 'worker-1', token: 1n, attempt: 'i1.1' } });
      expect(await holdersOf(servers, 'job')).toEqual(Array(count).fill('worker-1:1:i1.1'));
      expect(await quorum.tryAcquire('job', 'bob', 1_000)).toMatchObject({ acquired: false });
      expect(await quorum.refresh('job', 'worker-1', 1n, 1_000)).toMatchObject({ attempt: 'i1.1' });
    },
  );

  it("a retry through another instance that guesses the live grant's token leaves that grant alone", async () => {
    const { servers, clock } = quorumOf(3);
    const { calls } = recordingGrants(servers);
    const first = quorumOn(servers, clock, { attemptPrefix: 'lock-1.a' });
    const second = quorumOn(servers, clock, { attemptPrefix: 'lock-2.b' });
    // The second instance last saw fence 1.
    expect(await second.tryAcquire('job', 'someone', 1_000)).toMatchObject({ grant: { token: 1n } });
    await second.release('job', 'someone', 1n);
    const held = await first.tryAcquire('job', 'worker-1', 1_000);
    expect(held).toMatchObject({ acquired: true, grant: { token: 2n, attempt: 'lock-1.a.1' } });
    calls.length = 0;
    // worker-1 asks again through the second instance: it guesses token 2, held everywhere by worker-1's grant.
    expect(await second.tryAcquire('job', 'worker-1', 1_000)).toMatchObject({
      acquired: false,
      holder: { owner: 'worker-1', token: 2n, attempt: 'lock-1.a.1' },
    });
    expect(calls).toEqual(['s1', 's2', 's3'].map((id) => `${id} worker-1 2 lock-2.b.2`));
    expect(await holdersOf(servers, 'job')).toEqual(Array(3).fill('worker-1:2:lock-1.a.1'));
    expect(await first.tryAcquire('job', 'bob', 1_000)).toMatchObject({ acquired: false });
    expect(await second.inspect('job')).toMatchObject({ holder: { owner: 'worker-1', token: 2n } });
  });

  it('undoes an attempt only where it was granted or did not answer, and there only its own grant', async () => {
    const { servers, clock } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    const { open, opened } = gate();
    // The first attempt reads, then its grants wait: a applies it and the answer is lost, b never gets it, c later.
    const lateAnswerLost = intercept(a, 'grant', async (apply) => {
      await opened;
      await apply();
      throw new UnavailableError('the answer was lost');
    });
    const first = quorumOn([lateAnswerLost, requestLost(b, 'grant'), heldBack(c, 'grant', opened)], clock, {
      attemptPrefix: 'one',
    });
    // The second, by the same owner, reads the same fences and takes token 1 on b and c (a never gets its call).
    const second = quorumOn([requestLost(a, 'grant'), b, c], clock, { attemptPrefix: 'two' });
    const refused = first.tryAcquire('job', 'alice', 1_000);
    const granted = await second.tryAcquire('job', 'alice', 1_000);
    expect(granted).toMatchObject({ acquired: true, grant: { token: 1n, attempt: 'two.1' } });
    open();
    // Only c answered (held): too few to say more than unavailable, after undoing the attempt on a and b.
    await expect(refused).rejects.toBeInstanceOf(UnavailableError);
    // Undone on a (its answer lost) and tried on b (no answer), where alice's other grant was left alone.
    expect(await holdersOf(servers, 'job')).toEqual(['-', 'alice:1:two.1', 'alice:1:two.1']);
    expect(await second.tryAcquire('job', 'bob', 1_000)).toMatchObject({ acquired: false });
    expect(await first.refresh('job', 'alice', 1n, 1_000)).toMatchObject({ token: 1n, attempt: 'two.1' });
  });

  it("publishes an undone attempt's own token and attempt, never the grant that counted under that token", async () => {
    const { servers, clock } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    const published: string[] = [];
    for (const server of servers) server.onReleased = (name, message) => published.push(`${server.id} ${message}`);
    const { open, opened } = gate();
    // x's grant reaches a first, alice's reaches b and c first; both guess token 1.
    const forX = quorumOn([a, heldBack(b, 'grant', opened), heldBack(c, 'grant', opened)], clock, {
      attemptPrefix: 'x',
    });
    const forAlice = quorumOn(servers, clock, { attemptPrefix: 'alice' });
    forX.noteFence('job', 0n);
    forAlice.noteFence('job', 0n);
    const refused = forX.tryAcquire('job', 'x', 1_000);
    const alice = await forAlice.tryAcquire('job', 'alice', 1_000);
    expect(alice).toMatchObject({ acquired: true, grant: { token: 1n, attempt: 'alice.1' } });
    open();
    expect(await refused).toMatchObject({ acquired: false });
    // x's undo freed its grant on a alone (held elsewhere: nothing to undo) and said whose it was.
    expect(published).toEqual(['s1 1:x.1']);
    expect(await holdersOf(servers, 'job')).toEqual(['-', 'alice:1:alice.1', 'alice:1:alice.1']);
    await forAlice.release('job', 'alice', 1n, { attempt: 'alice.1' });
    expect(published).toEqual(['s1 1:x.1', 's2 1:alice.1', 's3 1:alice.1']);
  });

  it('tells the attempts it made (grant rounds and claims) from any other', async () => {
    const { quorum } = quorumOf(3);
    const taken = await quorum.tryAcquire('job', 'alice', 1_000);
    const place = await quorum.enqueue('job', 'w-bob', 5_000, { claim: { owner: 'bob', ttlMs: 1_000 } });
    if (!taken.acquired || place.claimAttempt === undefined) throw new Error('expected a grant and a claim');
    expect([taken.grant.attempt, place.claimAttempt].map((attempt) => quorum.made(attempt))).toEqual([true, true]);
    expect(['i2.1', 'i1', 'i10.1', 'xi1.1'].map((attempt) => quorum.made(attempt))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('gives every grant round an attempt of its own: a stale guess and the read after it differ', async () => {
    const { quorum, servers } = quorumOf(3);
    const { calls } = recordingGrants(servers);
    quorum.noteFence('job', 0n);
    for (const server of servers.slice(0, 2)) {
      await server.grant('job', 'x', 3n, 'x.3', 1_000);
      await server.release('job', 'x', 3n);
    }
    calls.length = 0;
    // Token 1 is stale on s1 and s2 (fence 3): undone on s3, then read and granted as token 4.
    expect(await quorum.tryAcquire('job', 'alice', 1_000)).toMatchObject({
      acquired: true,
      grant: { token: 4n, attempt: 'i1.2' },
    });
    expect(calls).toEqual([
      's1 alice 1 i1.1',
      's2 alice 1 i1.1',
      's3 alice 1 i1.1',
      's1 alice 4 i1.2',
      's2 alice 4 i1.2',
      's3 alice 4 i1.2',
    ]);
  });

  it('refreshes only where a majority extended one and the same attempt, and tells which', async () => {
    const { quorum, servers } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    // alice holds token 5 on a and b under one attempt, on c under another (an undo that never reached c).
    await a.grant('job', 'alice', 5n, 'p.1', 1_000);
    await b.grant('job', 'alice', 5n, 'p.1', 1_000);
    await c.grant('job', 'alice', 5n, 'p.2', 1_000);
    expect(await quorum.refresh('job', 'alice', 5n, 1_000)).toMatchObject({ token: 5n, attempt: 'p.1' });
    // Two of three extended alice's token 2, but under two attempts: whichever did not count may be undone any time.
    await a.grant('other', 'alice', 2n, 'p.3', 1_000);
    await b.grant('other', 'alice', 2n, 'p.4', 1_000);
    await expect(quorum.refresh('other', 'alice', 2n, 1_000)).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it('releases through the quorum by owner and token, or exactly the grant of one attempt', async () => {
    const { quorum, servers } = quorumOf(3);
    const granted = await quorum.tryAcquire('job', 'alice', 1_000);
    expect(granted).toMatchObject({ grant: { attempt: 'i1.1' } });
    await expect(quorum.release('job', 'alice', 1n, { attempt: 'i1.9' })).rejects.toMatchObject({
      details: { field: 'token' },
    });
    expect(await holdersOf(servers, 'job')).toEqual(Array(3).fill('alice:1:i1.1'));
    await quorum.release('job', 'alice', 1n, { attempt: 'i1.1' });
    expect(await holdersOf(servers, 'job')).toEqual(Array(3).fill('-'));
  });

  it('takes attempt prefixes of 1 to 47 characters without ":", and defaults to one unique in this process', async () => {
    const { servers, clock } = quorumOf(3);
    const options = { servers, nowMs: () => clock.nowMs, wallClockMs: () => 0, random: () => 0, callTimeoutMs: 100 };
    for (const attemptPrefix of ['', 'a:b', 'x'.repeat(48), 'é', 'a b']) {
      const error = (() => {
        try {
          return new LockQuorum({ ...options, attemptPrefix });
        } catch (thrown) {
          return thrown;
        }
      })();
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ details: { field: 'attemptPrefix' } });
    }
    const longest = new LockQuorum({ ...options, attemptPrefix: 'A-z_0.9'.padEnd(47, 'x') });
    expect(await longest.tryAcquire('long', 'a', 1_000)).toMatchObject({
      grant: { attempt: `${'A-z_0.9'.padEnd(47, 'x')}.1` },
    });
    const attempts = [];
    for (const quorum of [new LockQuorum(options), new LockQuorum(options)]) {
      const attempt = await quorum.tryAcquire('default', 'a', 1_000);
      if (!attempt.acquired) throw new Error('the lock was free');
      attempts.push(attempt.grant.attempt);
      await quorum.release('default', 'a', attempt.grant.token);
    }
    expect(attempts[0]).toMatch(/^q[0-9]+\.1$/);
    expect(attempts[1]).toMatch(/^q[0-9]+\.1$/);
    expect(attempts[0]).not.toBe(attempts[1]);
  });
});

describe('LockQuorum attempts between steps (beforeStep)', () => {
  it('is told before each step of an attempt the most rounds that step makes', async () => {
    const { quorum } = quorumOf(3);
    const steps: number[] = [];
    const beforeStep = async (roundsMax: number) => {
      steps.push(roundsMax);
      return true;
    };
    // No fence known yet: a read, then a grant round.
    const first = await quorum.tryAcquire('steps', 'alice', 10_000, undefined, beforeStep);
    expect(steps).toEqual([stepRoundsMax.read, stepRoundsMax.grantRound]);
    if (!first.acquired) throw new Error('not acquired');
    await quorum.release('steps', 'alice', first.grant.token);
    // The fence known: one guessed grant round.
    steps.length = 0;
    expect(await quorum.tryAcquire('steps', 'bob', 10_000, undefined, beforeStep)).toMatchObject({ acquired: true });
    expect(steps).toEqual([stepRoundsMax.grantRound]);
  });

  it('stops, queued and with nothing sent, at a step beforeStep refuses', async () => {
    const { quorum, servers } = quorumOf(3);
    expect(await quorum.tryAcquire('refused', 'alice', 10_000, undefined, async () => false)).toEqual({
      acquired: false,
      holder: undefined,
      queued: true,
    });
    for (const server of servers) expect(await server.inspect('refused')).toMatchObject({ fence: 0n });
  });
});

describe('LockQuorum waiters', () => {
  const leaseMs = 5_000;

  it('grants waiters in the order their enqueues returned, and nobody past them', async () => {
    const { quorum, servers } = quorumOf(3);
    await quorum.tryAcquire('job', 'alice', 1_000);
    expect(await quorum.enqueue('job', 'w-bob', leaseMs)).toEqual({ ticket: 1n, first: true, free: false });
    expect(await quorum.enqueue('job', 'w-carol', leaseMs)).toEqual({ ticket: 2n, first: false, free: false });
    expect(await quorum.inspect('job')).toMatchObject({ waiters: 2 });
    await quorum.release('job', 'alice', 1n);
    // The lock is free, but bob is first: neither a caller without a waiter nor carol gets it.
    expect(await quorum.tryAcquire('job', 'dave', 1_000)).toEqual({ acquired: false, holder: undefined, queued: true });
    expect(await quorum.tryAcquire('job', 'carol', 1_000, 'w-carol')).toEqual({
      acquired: false,
      holder: undefined,
      queued: true,
    });
    expect(await quorum.tryAcquire('job', 'bob', 1_000, 'w-bob')).toMatchObject({
      acquired: true,
      grant: { token: 2n },
    });
    // Bob left the queue where he was granted; carol is next everywhere.
    expect(await queuesOf(servers, 'job')).toEqual(Array(3).fill({ head: 'w-carol', length: 1 }));
    await quorum.release('job', 'bob', 2n);
    expect(await quorum.tryAcquire('job', 'carol', 1_000, 'w-carol')).toMatchObject({ acquired: true });
    expect(await quorum.inspect('job')).toMatchObject({ waiters: 0 });
  });

  it('gives an enqueue a ticket above every enqueue that returned before it, also when a server missed one', async () => {
    const { quorum, servers } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    a.up = false;
    expect((await quorum.enqueue('job', 'w-bob', leaseMs)).ticket).toBe(1n);
    a.up = true;
    c.up = false;
    // a never saw ticket 1; b did, and any majority includes b or c.
    expect((await quorum.enqueue('job', 'w-carol', leaseMs)).ticket).toBe(2n);
    c.up = true;
    expect((await a.inspect('job')).ticket).toBe(2n);
    expect((await b.inspect('job')).ticket).toBe(2n);
    expect((await c.inspect('job')).ticket).toBe(1n);
  });

  it('joins again everywhere above the highest counter reported when a majority refuses its ticket as stale', async () => {
    const { quorum, servers } = quorumOf(3);
    const [a, b] = servers as [MemoryLockServer, MemoryLockServer];
    // Joins through another instance took tickets 4 and 5 on a and b, and have not reached c yet.
    await a.enqueue('job', 'w-other', 4n, leaseMs, 100, { join: true });
    await b.enqueue('job', 'w-other', 5n, leaseMs, 100, { join: true });
    expect((await quorum.enqueue('job', 'w-bob', leaseMs)).ticket).toBe(6n);
    expect(await Promise.all(servers.map(async (server) => (await server.inspect('job')).ticket))).toEqual([
      6n,
      6n,
      6n,
    ]);
  });

  it('queues a burst of joins through two instances everywhere, in one order, with one ticket each', async () => {
    const clock = { nowMs: 1_000 };
    const servers = Array.from({ length: 3 }, (_, index) => new MemoryLockServer(`s${index + 1}`, () => clock.nowMs));
    // Each server takes the joins in an order of its own: each call waits a few turns of the event loop first.
    const jitter = seededUniform(3);
    const jittered = servers.map((server) =>
      intercept(server, 'enqueue', async (apply) => {
        for (let turns = Math.floor(jitter() * 4); turns > 0; turns--) await new Promise(setImmediate);
        return apply();
      }),
    );
    // Both instances' clocks read the same microsecond: every join of one collides with the other's.
    const instances = ['i1', 'i2'].map((attemptPrefix) =>
      quorumOn(jittered, clock, {
        attemptPrefix,
        wallClockMs: () => 5,
        random: seededUniform(Number(attemptPrefix.slice(1))),
      }),
    );
    const joins = instances.flatMap((quorum, instance) =>
      Array.from({ length: 30 }, (_, index) => quorum.enqueue('job', `w-${instance}-${index}`, leaseMs)),
    );
    const places = await Promise.all(joins);
    expect(new Set(places.map((place) => place.ticket)).size).toBe(60);
    expect(await queuesOf(servers, 'job')).toEqual(Array(3).fill(expect.objectContaining({ length: 60 })));
    // The same head everywhere, and it leaves the same next one: the queues agree.
    const heads = await queuesOf(servers, 'job');
    expect(new Set(heads.map((queue) => queue.head)).size).toBe(1);
  });

  it('gives up with AbortedError, leaving every queue, while joins elsewhere keep overtaking it on a majority', async () => {
    const { clock, servers } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    let overtaking = 100n;
    // Just before each of this quorum's joins, another one with a higher ticket lands on a and b.
    const overtaken = (server: MemoryLockServer) =>
      intercept(server, 'enqueue', async (apply) => {
        overtaking += 10_000n;
        await server.enqueue('job', `w-other-${overtaking}`, overtaking, leaseMs, 100, { join: true });
        return apply();
      });
    const quorum = quorumOn([overtaken(a), overtaken(b), c], clock);
    const error = await quorum.enqueue('job', 'w-bob', leaseMs).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as Error).message).toMatch(/overtook this one's ticket on 2 of 3 lock servers in each of 12 rounds/);
    expect(await Promise.all(servers.map(async (server) => (await server.inspect('job')).queue.head))).not.toContain(
      'w-bob',
    );
    expect((await c.inspect('job')).queue.length).toBe(0);
  });

  it('orders waiters holding the same ticket by waiterId, the same way on every server', async () => {
    const { quorum, servers } = quorumOf(3);
    // Concurrent enqueues can take the same ticket.
    await quorum.enqueue('job', 'w-b', leaseMs, { ticket: 7n });
    await quorum.enqueue('job', 'w-a', leaseMs, { ticket: 7n });
    await quorum.enqueue('job', 'w-0', leaseMs, { ticket: 8n });
    expect(await queuesOf(servers, 'job')).toEqual(Array(3).fill({ head: 'w-a', length: 3 }));
    expect(await quorum.tryAcquire('job', 'b', 1_000, 'w-b')).toMatchObject({ acquired: false, queued: true });
    expect(await quorum.tryAcquire('job', 'a', 1_000, 'w-a')).toMatchObject({ acquired: true });
  });

  it('renews a lease with the same ticket, queueing the waiter again where it was missing, at its place', async () => {
    const { quorum, servers, clock } = quorumOf(3);
    const [a] = servers as [MemoryLockServer];
    a.up = false;
    const bob = await quorum.enqueue('job', 'w-bob', leaseMs);
    a.up = true;
    await quorum.enqueue('job', 'w-carol', leaseMs);
    expect((await a.inspect('job')).queue).toEqual({ head: 'w-carol', length: 1 });
    clock.nowMs += leaseMs - 1;
    expect(await quorum.enqueue('job', 'w-bob', leaseMs, { ticket: bob.ticket })).toEqual({
      ticket: 1n,
      first: true,
      free: true,
    });
    expect(await queuesOf(servers, 'job')).toEqual(Array(3).fill({ head: 'w-bob', length: 2 }));
    // Carol did not renew: her place lapses, bob's lasts.
    clock.nowMs += 1;
    expect(await queuesOf(servers, 'job')).toEqual(Array(3).fill({ head: 'w-bob', length: 1 }));
  });

  it('stops a waiter that no longer renews (its instance died) from holding up the others after its lease', async () => {
    const { quorum, clock } = quorumOf(3);
    await quorum.enqueue('job', 'w-dead', leaseMs);
    await quorum.enqueue('job', 'w-live', leaseMs * 2);
    expect(await quorum.tryAcquire('job', 'live', 1_000, 'w-live')).toMatchObject({ acquired: false, queued: true });
    clock.nowMs += leaseMs;
    expect(await quorum.tryAcquire('job', 'live', 1_000, 'w-live')).toMatchObject({ acquired: true });
  });

  it('refuses a grant that would pass a waiter first on enough servers, also when the first round let it through', async () => {
    const { servers, clock } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    // Bob queues on a and b between dave's two rounds (his enqueue lands after dave's inspect).
    const late = (server: MemoryLockServer): LockServer =>
      intercept(server, 'grant', async (apply) => {
        await server.enqueue('job', 'w-bob', 1n, leaseMs);
        return apply();
      });
    const quorum = quorumOn([late(a), late(b), c], clock);
    expect(await quorum.tryAcquire('job', 'dave', 1_000)).toEqual({ acquired: false, holder: undefined, queued: true });
    expect((await c.inspect('job')).holder).toBeUndefined();
  });

  it('drops a granted waiter from the servers that did not grant it', async () => {
    const { quorum, servers } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    await quorum.enqueue('job', 'w-bob', leaseMs);
    // A leftover holder on c (its undo never reached c): c refuses, a and b grant.
    await c.grant('job', 'ghost', 9n, 'ghost.9', 10_000);
    expect(await quorum.tryAcquire('job', 'bob', 1_000, 'w-bob')).toMatchObject({ acquired: true });
    expect(await queuesOf([a, b, c], 'job')).toEqual(Array(3).fill({ head: undefined, length: 0 }));
  });

  it('undoes a waiter grant by queueing it again with its ticket before releasing: it keeps its place', async () => {
    const { servers, clock } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    const order: string[] = [];
    const watchedA = intercept(a, 'enqueue', async (apply) => {
      order.push('enqueue');
      return apply();
    });
    a.onReleased = (_name, message) => order.push(`release ${message}`);
    // b applies the grant but its answer is lost; c has a leftover holder: one grant of three counts.
    const quorum = quorumOn([watchedA, answerLost(b, 'grant'), c], clock, { attemptPrefix: 'i2' });
    await c.grant('job', 'ghost', 9n, 'ghost.9', 10_000);
    await quorum.enqueue('job', 'w-bob', leaseMs);
    await quorum.enqueue('job', 'w-carol', leaseMs);
    order.length = 0;
    expect(await quorum.tryAcquire('job', 'bob', 1_000, 'w-bob')).toEqual({
      acquired: false,
      holder: { owner: 'ghost', token: 9n, attempt: 'ghost.9', remainingTtlMs: 10_000 },
      queued: false,
    });
    expect(order).toEqual(['enqueue', 'release 10:i2.1']);
    // Ticket 1 again, not a new one: bob is ahead of carol everywhere, and the counters did not move.
    expect(await queuesOf([a, b, c], 'job')).toEqual(Array(3).fill({ head: 'w-bob', length: 2 }));
    expect((await a.inspect('job')).ticket).toBe(2n);
    expect((await a.inspect('job')).holder).toBeUndefined();
    expect((await b.inspect('job')).holder).toBeUndefined();
    expect(await quorum.tryAcquire('job', 'carol', 1_000, 'w-carol')).toMatchObject({ acquired: false });
  });

  it('keeps an undone grant where the waiter could not be queued again, so nobody behind it gets in', async () => {
    const { servers, clock } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    let enqueueLost = false;
    const flakyA = intercept(a, 'enqueue', (apply) =>
      enqueueLost ? Promise.reject(new UnavailableError('the request was lost')) : apply(),
    );
    const quorum = quorumOn([flakyA, answerLost(b, 'grant'), c], clock);
    await c.grant('job', 'ghost', 9n, 'ghost.9', 1_000);
    await quorum.enqueue('job', 'w-bob', leaseMs);
    await quorum.enqueue('job', 'w-carol', leaseMs);
    enqueueLost = true;
    expect(await quorum.tryAcquire('job', 'bob', 500, 'w-bob')).toMatchObject({ acquired: false });
    // b: bob is back in line and the grant released. a: bob is out of line there, so his grant holds a until its lease ends.
    expect(await b.inspect('job')).toMatchObject({ holder: undefined, queue: { head: 'w-bob', length: 2 } });
    expect(await a.inspect('job')).toMatchObject({
      holder: { owner: 'bob', token: 10n },
      queue: { head: 'w-carol', length: 1 },
    });
    expect(await quorum.tryAcquire('job', 'carol', 1_000, 'w-carol')).toMatchObject({ acquired: false });
    // Bob's next renewal puts him back at his place on a.
    enqueueLost = false;
    await quorum.enqueue('job', 'w-bob', leaseMs, { ticket: 1n });
    clock.nowMs += 1_000;
    expect(await queuesOf([a, b, c], 'job')).toEqual(Array(3).fill({ head: 'w-bob', length: 2 }));
    expect(await quorum.tryAcquire('job', 'bob', 500, 'w-bob')).toMatchObject({ acquired: true });
  });

  it('forgets the oldest place past placesMax, and then undoes a grant by releasing alone', async () => {
    const { servers, clock } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    const quorum = quorumOn([a, answerLost(b, 'grant'), c], clock, { placesMax: 1 });
    await c.grant('job', 'ghost', 9n, 'ghost.9', 10_000);
    await quorum.enqueue('job', 'w-bob', leaseMs);
    await quorum.enqueue('job', 'w-carol', leaseMs);
    expect(await quorum.tryAcquire('job', 'bob', 1_000, 'w-bob')).toMatchObject({ acquired: false });
    // This quorum no longer knew bob's ticket: released, but not queued again until bob renews.
    expect(await queuesOf([a, b], 'job')).toEqual(Array(2).fill({ head: 'w-carol', length: 1 }));
    expect((await a.inspect('job')).holder).toBeUndefined();
  });

  it('takes a new entry out again when fewer than a majority took it, but keeps a renewed one', async () => {
    const { quorum, servers } = quorumOf(3);
    const [a, b, c] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    b.up = false;
    c.up = false;
    await expect(quorum.enqueue('job', 'w-bob', leaseMs)).rejects.toBeInstanceOf(UnavailableError);
    expect((await a.inspect('job')).queue).toEqual({ head: undefined, length: 0 });
    await expect(quorum.enqueue('job', 'w-bob', leaseMs, { ticket: 4n })).rejects.toBeInstanceOf(UnavailableError);
    expect((await a.inspect('job')).queue).toEqual({ head: 'w-bob', length: 1 });
    await expect(quorum.leave('job', 'w-bob')).rejects.toBeInstanceOf(UnavailableError);
    expect((await a.inspect('job')).queue).toEqual({ head: undefined, length: 0 });
    b.up = true;
    await quorum.leave('job', 'w-bob');
  });

  it('reports whether the waiter is first and the lock free on a majority', async () => {
    const { quorum, servers } = quorumOf(3);
    const [a] = servers as [MemoryLockServer];
    await a.enqueue('job', 'w-early', 1n, leaseMs);
    // w-early is ahead on a only.
    // Bob's first ticket, 1, is not above a's counter: a refuses it, but b and c took it, so a queues him under it
    // as a renewal would (ahead of w-early there: equal tickets go by id).
    expect(await quorum.enqueue('job', 'w-bob', leaseMs)).toMatchObject({ ticket: 1n, first: true, free: true });
    expect((await a.inspect('job')).queue).toEqual({ head: 'w-bob', length: 2 });
    // Granted on all three: bob leaves every queue.
    expect(await quorum.tryAcquire('job', 'bob', 1_000, 'w-bob')).toMatchObject({ acquired: true });
    expect(await quorum.enqueue('job', 'w-carol', leaseMs)).toMatchObject({ ticket: 2n, first: true, free: false });
    expect(await quorum.enqueue('job', 'w-dave', leaseMs)).toMatchObject({ ticket: 3n, first: false, free: false });
    expect((await a.inspect('job')).queue).toEqual({ head: 'w-early', length: 3 });
  });

  it('refuses bad waiter ids, leases and tickets with InvalidArgumentError before any call', async () => {
    const { quorum, servers } = quorumOf(3);
    const calls = servers.map((server) => jest.spyOn(server, 'inspect'));
    for (const [call, field] of [
      [() => quorum.enqueue('job', '', leaseMs), 'waiterId'],
      [() => quorum.enqueue('job', 'é'.repeat(100) + 'x', leaseMs), 'waiterId'],
      [() => quorum.enqueue('job', '\uD800', leaseMs), 'waiterId'],
      [() => quorum.tryAcquire('job', 'a', 1_000, ''), 'waiterId'],
      [() => quorum.leave('job', '\uDC00x'), 'waiterId'],
      [() => quorum.enqueue('job', 'w', 0), 'leaseMs'],
      [() => quorum.enqueue('job', 'w', 1.5), 'leaseMs'],
      [() => quorum.enqueue('job', 'w', 3_600_001), 'leaseMs'],
      [() => quorum.enqueue('job', 'w', leaseMs, { ticket: 0n }), 'ticket'],
      [() => quorum.enqueue('job', 'w', leaseMs, { ticket: ticketMax + 1n }), 'ticket'],
    ] as const) {
      const error = await call().catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ details: { field } });
    }
    for (const spy of calls) expect(spy).not.toHaveBeenCalled();
    // 200 bytes is allowed: 100 two-byte characters.
    expect(await quorum.enqueue('job', 'é'.repeat(100), leaseMs)).toMatchObject({ ticket: 1n });
  });

  it('refuses to issue a ticket past 2^53 - 1, which a queue score cannot hold exactly', async () => {
    const { quorum } = quorumOf(3);
    await quorum.enqueue('job', 'w-last', leaseMs, { ticket: ticketMax });
    await expect(quorum.enqueue('job', 'w-next', leaseMs)).rejects.toMatchObject({ details: { field: 'ticket' } });
  });
});

describe('LockQuorum handover', () => {
  const leaseMs = 5_000;
  const ids = (...names: string[]) => new Set(names);

  it("hands a released lock to the head's claim on every server, which the waiter takes on a majority's word", async () => {
    const { quorum, servers, clock } = quorumOf(3);
    await quorum.tryAcquire('job', 'alice', 1_000);
    const place = await quorum.enqueue('job', 'w-bob', leaseMs, { claim: { owner: 'bob', ttlMs: 2_000 } });
    expect(place).toMatchObject({ ticket: 1n, first: true, free: false, claimAttempt: 'i1.2', handed: undefined });
    clock.nowMs += 300;
    await quorum.release('job', 'alice', 1n);
    expect(await holdersOf(servers, 'job')).toEqual(Array(3).fill('bob:2:i1.2'));
    expect(await queuesOf(servers, 'job')).toEqual(Array(3).fill({ head: undefined, length: 0 }));
    // One server's word, or a word about another attempt, is not enough.
    expect(quorum.acceptHandover('job', 'w-bob', 2n, 'i1.2', ids('s1'))).toBeUndefined();
    expect(quorum.acceptHandover('job', 'w-bob', 2n, 'i9.9', ids('s1', 's2', 's3'))).toBeUndefined();
    // Valid from when the claim was first sent (1,000), not from the news (1,300): 2,000 - 22 ms of drift.
    expect(quorum.acceptHandover('job', 'w-bob', 2n, 'i1.2', ids('s1', 's3'))).toEqual({
      token: 2n,
      attempt: 'i1.2',
      validUntilMs: 1_000 + 2_000 - 22,
    });
    // Taken once: the place is gone.
    expect(quorum.acceptHandover('job', 'w-bob', 2n, 'i1.2', ids('s1', 's3'))).toBeUndefined();
    await quorum.release('job', 'bob', 2n);
    expect(await holdersOf(servers, 'job')).toEqual(Array(3).fill('-'));
  });

  it('leaves the queue, after a handover, only on the servers that did not tell of it', async () => {
    const { servers } = quorumOf(3);
    const [s1, s2, s3] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    const leaves: string[] = [];
    const counted = (server: MemoryLockServer) =>
      intercept(server, 'leave', (apply) => {
        leaves.push(server.id);
        return apply();
      });
    const lostRelease = intercept(s3, 'release', () => Promise.reject(new UnavailableError('lost')));
    const quorum = quorumOn([counted(s1), counted(s2), lostRelease], { nowMs: 1_000 }, { attemptPrefix: 'i1' });
    await quorum.tryAcquire('job', 'alice', 1_000);
    await quorum.enqueue('job', 'w-bob', leaseMs, { claim: { owner: 'bob', ttlMs: 2_000 } });
    // s3 never hears of alice's release: it hands nothing over, and bob is still queued there.
    await quorum.release('job', 'alice', 1n);
    const heard = ids('s1', 's2');
    expect(quorum.acceptHandover('job', 'w-bob', 2n, 'i1.2', heard)).toMatchObject({ token: 2n });
    quorum.leaveUnhanded('job', 'w-bob', heard);
    await new Promise((resolve) => setImmediate(resolve));
    expect(leaves).toEqual([]);
    expect(await queuesOf(servers, 'job')).toEqual(Array(3).fill({ head: undefined, length: 0 }));
    // Where it was handed over, the leave took nothing: bob holds the lock on s1 and s2.
    expect(await holdersOf(servers, 'job')).toEqual(['bob:2:i1.2', 'bob:2:i1.2', 'alice:1:i1.1']);
  });

  it('tells a renewal that finds the lock handed over on a majority, keeping the claim and when it was first sent', async () => {
    const { quorum, servers, clock } = quorumOf(3);
    await quorum.tryAcquire('job', 'alice', 1_000);
    const claim = { owner: 'bob', ttlMs: 2_000 };
    const place = await quorum.enqueue('job', 'w-bob', leaseMs, { claim });
    clock.nowMs += 500;
    const renewed = await quorum.enqueue('job', 'w-bob', leaseMs, { ticket: place.ticket, claim });
    expect(renewed).toMatchObject({ claimAttempt: place.claimAttempt, handed: undefined });
    await quorum.release('job', 'alice', 1n);
    expect(await quorum.enqueue('job', 'w-bob', leaseMs, { ticket: place.ticket, claim })).toMatchObject({
      handed: { token: 2n, attempt: place.claimAttempt, validUntilMs: 1_000 + 2_000 - 22 },
    });
    // The renewal queued nothing behind the waiter's own grant.
    expect(await queuesOf(servers, 'job')).toEqual(Array(3).fill({ head: undefined, length: 0 }));
  });

  it('leaves a minority handover to the waiter, whose leave frees it; the others still wait in line', async () => {
    const { servers, clock } = quorumOf(3);
    const [s1, s2, s3] = servers as [MemoryLockServer, MemoryLockServer, MemoryLockServer];
    const quorum = quorumOn(servers, clock, { attemptPrefix: 'i1' });
    const lossy = quorumOn([s1, requestLost(s2, 'release'), requestLost(s3, 'release')], clock, {
      attemptPrefix: 'i2',
    });
    await quorum.tryAcquire('job', 'alice', 1_000);
    await quorum.enqueue('job', 'w-bob', leaseMs, { claim: { owner: 'bob', ttlMs: 2_000 } });
    await quorum.enqueue('job', 'w-carol', leaseMs, { claim: { owner: 'carol', ttlMs: 2_000 } });
    await expect(lossy.release('job', 'alice', 1n)).rejects.toBeInstanceOf(UnavailableError);
    expect(await holdersOf(servers, 'job')).toEqual(['bob:2:i1.2', 'alice:1:i1.1', 'alice:1:i1.1']);
    expect(quorum.acceptHandover('job', 'w-bob', 2n, 'i1.2', ids('s1'))).toBeUndefined();
    await quorum.leave('job', 'w-bob');
    expect(await holdersOf(servers, 'job')).toEqual(['-', 'alice:1:i1.1', 'alice:1:i1.1']);
    expect(await queuesOf(servers, 'job')).toEqual(Array(3).fill({ head: 'w-carol', length: 1 }));
  });

  it('hands over under the token after the last fence seen when that is above the released one', async () => {
    const { quorum, servers } = quorumOf(3);
    await quorum.tryAcquire('job', 'alice', 1_000);
    // An attempt that did not count raised s1's fence to 5.
    await (servers[0] as MemoryLockServer).grant('job', 'x', 5n, 'i9.1', 1_000);
    await (servers[0] as MemoryLockServer).release('job', 'x', 5n);
    quorum.noteFence('job', 5n);
    await quorum.enqueue('job', 'w-bob', leaseMs, { claim: { owner: 'bob', ttlMs: 2_000 } });
    await quorum.release('job', 'alice', 1n);
    expect(await holdersOf(servers, 'job')).toEqual(Array(3).fill('bob:6:i1.2'));
  });
});

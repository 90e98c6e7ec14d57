import { InvalidArgumentError, UnavailableError } from '@bulwark/errors';
import { ticketMax } from './lock-waiters';
import { MemoryLockServer } from './memory-lock-server';

function serverAt(nowMs = 1_000) {
  const clock = { nowMs };
  const server = new MemoryLockServer('m1', () => clock.nowMs);
  const published: string[] = [];
  server.onReleased = (name, message) => published.push(`${name} ${message}`);
  return { clock, server, published };
}

describe('MemoryLockServer holders', () => {
  it('keeps the attempt that took the lock, and reports it with the holder', async () => {
    const { server } = serverAt();
    expect(await server.grant('job', 'alice', 5n, 'i1.7', 1_000)).toEqual({ outcome: 'granted' });
    const holder = { owner: 'alice', token: 5n, attempt: 'i1.7', remainingTtlMs: 1_000 };
    expect((await server.inspect('job')).holder).toEqual(holder);
    // The same owner and token under another attempt finds the lock held, by the first.
    expect(await server.grant('job', 'alice', 6n, 'i2.1', 1_000)).toEqual({ outcome: 'held', fence: 5n, holder });
  });

  it('releases with an attempt exactly that grant; without one, the owner and token under any attempt', async () => {
    const { server, published } = serverAt();
    await server.grant('job', 'alice', 5n, 'i1.1', 1_000);
    expect(await server.release('job', 'alice', 5n, 100, { attempt: 'i2.1' })).toBe(false);
    expect(await server.release('job', 'bob', 5n, 100, { attempt: 'i1.1' })).toBe(false);
    expect(await server.release('job', 'alice', 4n, 100, { attempt: 'i1.1' })).toBe(false);
    expect(published).toEqual([]);
    expect((await server.inspect('job')).holder).toMatchObject({ attempt: 'i1.1' });
    expect(await server.release('job', 'alice', 5n, 100, { attempt: 'i1.1' })).toBe(true);
    await server.grant('job', 'alice', 6n, 'i2.2', 1_000);
    expect(await server.release('job', 'alice', 6n)).toBe(true);
    expect(published).toEqual(['job 5:i1.1', 'job 6:i2.2']);
  });

  it('refreshes by owner and token under any attempt, answering the attempt; undefined when not the holder', async () => {
    const { server, clock } = serverAt();
    await server.grant('job', 'alice', 5n, 'i1.1', 1_000);
    clock.nowMs += 900;
    expect(await server.refresh('job', 'alice', 5n, 1_000)).toBe('i1.1');
    expect((await server.inspect('job')).holder).toEqual({
      owner: 'alice',
      token: 5n,
      attempt: 'i1.1',
      remainingTtlMs: 1_000,
    });
    expect(await server.refresh('job', 'bob', 5n, 1_000)).toBeUndefined();
    expect(await server.refresh('job', 'alice', 6n, 1_000)).toBeUndefined();
    clock.nowMs += 1_000;
    expect(await server.refresh('job', 'alice', 5n, 1_000)).toBeUndefined();
  });

  it('refuses attempts that are not 1 to 64 characters of A-Z, a-z, 0-9, _, . and -, changing nothing', async () => {
    const { server, published } = serverAt();
    await server.grant('job', 'alice', 5n, 'i1.1', 1_000);
    for (const attempt of ['', 'a:b', 'x'.repeat(65), 'é', 'a b', 'a\n']) {
      for (const call of [
        () => server.grant('other', 'alice', 1n, attempt, 1_000),
        () => server.release('job', 'alice', 5n, 100, { attempt }),
      ]) {
        const error = await call().catch((thrown: unknown) => thrown);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error).toMatchObject({ details: { field: 'attempt' } });
      }
    }
    expect(await server.inspect('other')).toMatchObject({ fence: 0n, holder: undefined });
    expect((await server.inspect('job')).holder).toMatchObject({ attempt: 'i1.1' });
    expect(published).toEqual([]);
    expect(await server.grant('other', 'alice', 1n, 'Az09_.-'.padEnd(64, 'x'), 1_000)).toEqual({ outcome: 'granted' });
  });
});

describe('MemoryLockServer queue', () => {
  it('queues waiters by ticket, then waiterId, and reports the head, the length and the ticket counter', async () => {
    const { server } = serverAt();
    expect(await server.enqueue('job', 'w-b', 5n, 1_000)).toMatchObject({
      outcome: 'queued',
      ticket: 5n,
      head: 'w-b',
      held: false,
    });
    expect(await server.enqueue('job', 'w-c', 4n, 1_000)).toMatchObject({
      outcome: 'queued',
      ticket: 4n,
      head: 'w-c',
      held: false,
    });
    expect(await server.enqueue('job', 'w-a', 4n, 1_000)).toMatchObject({
      outcome: 'queued',
      ticket: 4n,
      head: 'w-a',
      held: false,
    });
    expect(await server.inspect('job')).toEqual({
      fence: 0n,
      ticket: 5n,
      holder: undefined,
      queue: { head: 'w-a', length: 3 },
    });
  });

  it('orders equal tickets by UTF-8 bytes (code points), as Redis does, not by UTF-16 code units', async () => {
    const { server } = serverAt();
    // U+FB01 is below U+1F512 as a code point and in UTF-8, above its first UTF-16 unit (0xD83D).
    await server.enqueue('job', '\u{1F512}', 1n, 1_000);
    await server.enqueue('job', '\uFB01', 1n, 1_000);
    await server.enqueue('job', 'ab', 1n, 1_000);
    await server.enqueue('job', 'a', 1n, 1_000);
    expect((await server.inspect('job')).queue.head).toBe('a');
    await server.leave('job', 'a');
    expect((await server.inspect('job')).queue.head).toBe('ab');
    await server.leave('job', 'ab');
    expect((await server.inspect('job')).queue.head).toBe('\uFB01');
  });

  it('gives a waiter queued already the ticket it renews with, renews its lease, and only raises the counter', async () => {
    const { server, clock } = serverAt();
    await server.enqueue('job', 'w-a', 7n, 1_000);
    clock.nowMs += 900;
    expect(await server.enqueue('job', 'w-a', 9n, 1_000)).toMatchObject({
      outcome: 'queued',
      ticket: 9n,
      head: 'w-a',
      held: false,
    });
    expect((await server.inspect('job')).ticket).toBe(9n);
    await server.enqueue('job', 'w-b', 3n, 1_000);
    expect((await server.inspect('job')).ticket).toBe(9n);
    // w-a's lease was renewed at 1,900: it lasts past 2,000.
    clock.nowMs += 999;
    expect((await server.inspect('job')).queue).toEqual({ head: 'w-b', length: 2 });
  });

  it('queues a join only with a ticket above the counter, answering stale with the counter otherwise', async () => {
    const { server } = serverAt();
    await server.enqueue('job', 'w-a', 7n, 1_000, 100, { join: true });
    expect(await server.enqueue('job', 'w-b', 7n, 1_000, 100, { join: true })).toEqual({
      outcome: 'stale',
      counter: 7n,
    });
    expect(await server.enqueue('job', 'w-b', 3n, 1_000, 100, { join: true })).toMatchObject({ outcome: 'stale' });
    expect((await server.inspect('job')).queue).toEqual({ head: 'w-a', length: 1 });
    // A join again, above the counter, moves a waiter's own entry to the new ticket; a renewal is never stale.
    expect(await server.enqueue('job', 'w-a', 8n, 1_000, 100, { join: true })).toMatchObject({ ticket: 8n });
    expect(await server.enqueue('job', 'w-b', 2n, 1_000)).toMatchObject({ outcome: 'queued', head: 'w-b' });
  });

  it('drops waiters whose lease ran out, keeping the ticket counter', async () => {
    const { server, clock } = serverAt();
    await server.enqueue('job', 'w-a', 1n, 100);
    await server.enqueue('job', 'w-b', 2n, 200);
    clock.nowMs += 100;
    expect(await server.inspect('job')).toMatchObject({ ticket: 2n, queue: { head: 'w-b', length: 1 } });
    clock.nowMs += 100;
    expect(await server.inspect('job')).toMatchObject({ ticket: 2n, queue: { head: undefined, length: 0 } });
    // Queued again after its lease ran out, a waiter is a new entry with the ticket it brings.
    expect(await server.enqueue('job', 'w-a', 1n, 100)).toMatchObject({
      outcome: 'queued',
      ticket: 1n,
      head: 'w-a',
      held: false,
    });
  });

  it('grants without a waiter only to an empty queue, and with one only to its head, which leaves the queue', async () => {
    const { server } = serverAt();
    await server.enqueue('job', 'w-a', 1n, 1_000);
    await server.enqueue('job', 'w-b', 2n, 1_000);
    expect(await server.grant('job', 'dave', 1n, 'dave.1', 1_000)).toMatchObject({
      outcome: 'queued',
      fence: 0n,
      head: 'w-a',
    });
    expect(await server.grant('job', 'bob', 1n, 'bob.1', 1_000, 100, 'w-b')).toMatchObject({
      outcome: 'queued',
      fence: 0n,
      head: 'w-a',
    });
    expect(await server.grant('job', 'alice', 1n, 'alice.1', 1_000, 100, 'w-a')).toEqual({ outcome: 'granted' });
    expect(await server.inspect('job')).toMatchObject({
      fence: 1n,
      holder: { owner: 'alice', token: 1n },
      queue: { head: 'w-b', length: 1 },
    });
    // A waiter not queued here is granted where nobody waits.
    const { server: empty } = serverAt();
    expect(await empty.grant('job', 'x', 1n, 'x.1', 1_000, 100, 'w-elsewhere')).toEqual({ outcome: 'granted' });
  });

  it('answers held before queued, and queued before stale', async () => {
    const { server } = serverAt();
    await server.grant('job', 'alice', 5n, 'alice.5', 1_000);
    await server.enqueue('job', 'w-a', 1n, 1_000);
    expect(await server.grant('job', 'bob', 3n, 'bob.3', 1_000, 100, 'w-b')).toMatchObject({
      outcome: 'held',
      fence: 5n,
    });
    await server.release('job', 'alice', 5n);
    expect(await server.grant('job', 'bob', 3n, 'bob.3', 1_000, 100, 'w-b')).toMatchObject({
      outcome: 'queued',
      fence: 5n,
      head: 'w-a',
    });
    expect(await server.grant('job', 'a', 3n, 'a.3', 1_000, 100, 'w-a')).toEqual({ outcome: 'stale', fence: 5n });
    expect((await server.inspect('job')).queue).toEqual({ head: 'w-a', length: 1 });
  });

  it('tells of releases (token and attempt) and of a head leaving a free lock (left), nothing else', async () => {
    const { server, published } = serverAt();
    await server.enqueue('job', 'w-a', 1n, 1_000);
    await server.enqueue('job', 'w-b', 2n, 1_000);
    await server.enqueue('job', 'w-c', 3n, 1_000);
    expect(await server.leave('job', 'w-b')).toBe(true);
    expect(await server.leave('job', 'w-b')).toBe(false);
    expect(published).toEqual([]);
    expect(await server.leave('job', 'w-a')).toBe(true);
    expect(published).toEqual(['job left']);
    await server.grant('job', 'carol', 4n, 'carol.4', 1_000, 100, 'w-c');
    await server.enqueue('job', 'w-d', 4n, 1_000);
    await server.enqueue('job', 'w-e', 5n, 1_000);
    // Held: the head leaving wakes nobody, the release does.
    expect(await server.leave('job', 'w-d')).toBe(true);
    expect(await server.release('job', 'carol', 4n)).toBe(true);
    expect(published).toEqual(['job left', 'job 4:carol.4']);
  });

  it('refuses bad waiter ids, tickets and leases with InvalidArgumentError, changing nothing', async () => {
    const { server } = serverAt();
    for (const [call, field] of [
      [() => server.enqueue('job', '', 1n, 1_000), 'waiterId'],
      [() => server.enqueue('job', 'x'.repeat(201), 1n, 1_000), 'waiterId'],
      [() => server.enqueue('job', 'a\uD800b', 1n, 1_000), 'waiterId'],
      [() => server.enqueue('job', 'w', 0n, 1_000), 'ticket'],
      [() => server.enqueue('job', 'w', ticketMax + 1n, 1_000), 'ticket'],
      [() => server.enqueue('job', 'w', 1n, 0), 'leaseMs'],
      [() => server.enqueue('job', 'w', 1n, Number.NaN), 'leaseMs'],
      [() => server.leave('job', ''), 'waiterId'],
      [() => server.grant('job', 'a', 1n, 'a.1', 1_000, 100, ''), 'waiterId'],
    ] as const) {
      const error = await call().catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ details: { field } });
    }
    expect(await server.inspect('job')).toEqual({
      fence: 0n,
      ticket: 0n,
      holder: undefined,
      queue: { head: undefined, length: 0 },
    });
    expect(await server.enqueue('job', 'x'.repeat(200), ticketMax, 1_000)).toMatchObject({ ticket: ticketMax });
  });

  it('fails every queue call while down', async () => {
    const { server } = serverAt();
    server.up = false;
    await expect(server.enqueue('job', 'w', 1n, 1_000)).rejects.toBeInstanceOf(UnavailableError);
    await expect(server.leave('job', 'w')).rejects.toBeInstanceOf(UnavailableError);
    server.up = true;
    expect(await server.leave('job', 'w')).toBe(false);
  });
});

describe('MemoryLockServer handover', () => {
  const claimOf = (attempt: string, owner = 'bob', ttlMs = 2_000) => ({ owner, attempt, ttlMs });
  /** Alice holds job under token 5 (attempt i1.1), and bob waits first in line as w-b (ticket 2, claim i2.1). */
  const aliceHoldsBobWaits = async (server: MemoryLockServer) => {
    await server.grant('job', 'alice', 5n, 'i1.1', 1_000);
    await server.enqueue('job', 'w-b', 2n, 5_000, 100, { claim: claimOf('i2.1') });
  };

  it("hands a released lock to the queue's head under the next token, raising the fence, and tells of both", async () => {
    const { server, clock, published } = serverAt();
    await aliceHoldsBobWaits(server);
    await server.enqueue('job', 'w-c', 3n, 1_000, 100, { claim: claimOf('i3.1', 'carol') });
    expect(await server.release('job', 'alice', 5n, 100, { nextToken: 6n })).toBe(true);
    expect(published).toEqual(['job 5:i1.1:6:i2.1']);
    expect(await server.inspect('job')).toEqual({
      fence: 6n,
      ticket: 3n,
      holder: { owner: 'bob', token: 6n, attempt: 'i2.1', remainingTtlMs: 2_000 },
      queue: { head: 'w-c', length: 1 },
    });
    // The handed-over lease runs out at the claim's TTL, like a grant's.
    clock.nowMs += 2_000;
    expect((await server.inspect('job')).holder).toBeUndefined();
  });

  it('frees the lock instead when the head left no claim, the fence is not below the next token, or nobody waits', async () => {
    const { server, published } = serverAt();
    await server.grant('job', 'alice', 5n, 'i1.1', 1_000);
    await server.enqueue('job', 'w-a', 1n, 1_000);
    await server.enqueue('job', 'w-b', 2n, 1_000, 100, { claim: claimOf('i2.1') });
    expect(await server.release('job', 'alice', 5n, 100, { nextToken: 6n })).toBe(true);
    expect(await server.inspect('job')).toMatchObject({ fence: 5n, holder: undefined, queue: { head: 'w-a' } });

    await server.leave('job', 'w-a');
    await server.grant('job', 'alice', 7n, 'i1.2', 1_000, 100, 'w-b');
    await server.enqueue('job', 'w-c', 3n, 1_000, 100, { claim: claimOf('i3.1') });
    expect(await server.release('job', 'alice', 7n, 100, { nextToken: 7n })).toBe(true);
    expect(await server.inspect('job')).toMatchObject({ fence: 7n, holder: undefined, queue: { head: 'w-c' } });

    await server.leave('job', 'w-c');
    await server.grant('job', 'alice', 8n, 'i1.3', 1_000);
    expect(await server.release('job', 'alice', 8n, 100, { nextToken: 9n })).toBe(true);
    expect(await server.inspect('job')).toMatchObject({ fence: 8n, holder: undefined });
    expect(published).toEqual(['job 5:i1.1', 'job left', 'job 7:i1.2', 'job left', 'job 8:i1.3']);
  });

  it('hands a lock that was free already to the head for a vouched release, answering false, telling of the handover alone', async () => {
    const { server, clock, published } = serverAt();
    await aliceHoldsBobWaits(server);
    // Alice's lease runs out here: the lock is free, and her late release (vouched for) still passes it on.
    clock.nowMs += 1_000;
    expect(await server.release('job', 'alice', 5n, 100, { nextToken: 6n, releaser: {} })).toBe(false);
    expect(published).toEqual(['job handed:6:i2.1']);
    expect(await server.inspect('job')).toMatchObject({
      fence: 6n,
      holder: { owner: 'bob', token: 6n, attempt: 'i2.1' },
      queue: { length: 0 },
    });
  });

  it('never touches a lock someone else holds, nor a free one without a next token or unvouched', async () => {
    const { server, clock, published } = serverAt();
    await aliceHoldsBobWaits(server);
    expect(await server.release('job', 'mallory', 5n, 100, { nextToken: 6n })).toBe(false);
    expect(await server.release('job', 'alice', 4n, 100, { nextToken: 6n })).toBe(false);
    expect(await server.release('job', 'alice', 5n, 100, { attempt: 'i9.9', nextToken: 6n })).toBe(false);
    expect(await server.inspect('job')).toMatchObject({ fence: 5n, holder: { owner: 'alice', token: 5n } });
    clock.nowMs += 1_000;
    expect(await server.release('job', 'alice', 5n, 100)).toBe(false);
    // Unvouched, a token is checked only against a holder: a made-up one must not raise the fence of a free lock.
    expect(await server.release('job', 'mallory', 2n ** 64n - 2n, 100, { nextToken: 2n ** 64n - 1n })).toBe(false);
    expect(await server.inspect('job')).toMatchObject({ fence: 5n, holder: undefined, queue: { head: 'w-b' } });
    await expect(server.release('job', 'alice', 5n, 100, { nextToken: 2n ** 64n, releaser: {} })).rejects.toMatchObject(
      { details: { field: 'nextToken' } },
    );
    expect(published).toEqual([]);
  });

  it('with a releaser, drops its entry while someone else holds the lock, so a late release hands over past it', async () => {
    const { server, published } = serverAt();
    await aliceHoldsBobWaits(server);
    await server.enqueue('job', 'w-c', 3n, 5_000, 100, { claim: claimOf('i3.1', 'carol') });
    // Bob took token 6 on the other servers and releases it before alice's release reaches this one.
    const releaser = { waiterId: 'w-b', claimAttempt: 'i2.1' };
    expect(await server.release('job', 'bob', 6n, 100, { nextToken: 7n, releaser })).toBe(false);
    expect(await server.inspect('job')).toMatchObject({
      holder: { owner: 'alice' },
      queue: { head: 'w-c', length: 1 },
    });
    await server.release('job', 'alice', 5n, 100, { nextToken: 6n });
    expect((await server.inspect('job')).holder).toMatchObject({ owner: 'carol', token: 6n, attempt: 'i3.1' });
    expect(published).toEqual(['job 5:i1.1:6:i3.1']);
  });

  it('with a releaser, frees a handover to its claim under another token, and tells of a head leaving a free lock', async () => {
    const { server, published } = serverAt();
    await aliceHoldsBobWaits(server);
    await server.release('job', 'alice', 5n, 100, { nextToken: 6n });
    // Bob's grant that counted is token 7 (a later round elsewhere); token 6 here is a handover he never took.
    const releaser = { waiterId: 'w-b', claimAttempt: 'i2.1' };
    expect(await server.release('job', 'bob', 7n, 100, { nextToken: 8n, releaser })).toBe(false);
    expect((await server.inspect('job')).holder).toBeUndefined();
    await server.enqueue('job', 'w-c', 3n, 5_000, 100);
    await server.enqueue('job', 'w-d', 4n, 5_000, 100, { claim: claimOf('i4.1') });
    // w-c is head of the free lock; a release naming it as releaser takes it out and tells the next one.
    expect(await server.release('job', 'carol', 9n, 100, { releaser: { waiterId: 'w-c', claimAttempt: 'i3.1' } })).toBe(
      false,
    );
    expect((await server.inspect('job')).queue).toEqual({ head: 'w-d', length: 1 });
    expect(published).toEqual(['job 5:i1.1:6:i2.1', 'job 6:i2.1', 'job left']);
  });

  it('answers handed to a renewal of a claim that holds the lock, queueing nothing behind its own grant', async () => {
    const { server } = serverAt();
    await aliceHoldsBobWaits(server);
    await server.release('job', 'alice', 5n, 100, { nextToken: 6n });
    expect(await server.enqueue('job', 'w-b', 2n, 1_000, 100, { claim: claimOf('i2.1') })).toEqual({
      outcome: 'handed',
      token: 6n,
    });
    expect((await server.inspect('job')).queue).toEqual({ head: undefined, length: 0 });
    // Another claim of the same waiter (after an undo) is queued as usual.
    expect(await server.enqueue('job', 'w-b', 2n, 1_000, 100, { claim: claimOf('i2.2') })).toMatchObject({
      outcome: 'queued',
    });
  });

  it("frees a handover on leave when the waiter names its claim's attempt, and only then", async () => {
    const { server, published } = serverAt();
    await aliceHoldsBobWaits(server);
    await server.release('job', 'alice', 5n, 100, { nextToken: 6n });
    expect(await server.leave('job', 'w-b')).toBe(false);
    expect(await server.leave('job', 'w-b', 100, 'i9.9')).toBe(false);
    expect((await server.inspect('job')).holder).toMatchObject({ attempt: 'i2.1' });
    expect(await server.leave('job', 'w-b', 100, 'i2.1')).toBe(true);
    expect((await server.inspect('job')).holder).toBeUndefined();
    expect(published).toEqual(['job 5:i1.1:6:i2.1', 'job 6:i2.1']);
  });

  it('refuses a claim with a malformed attempt or TTL, naming the field', async () => {
    const { server } = serverAt();
    for (const [claim, field] of [
      [claimOf('has:colon'), 'attempt'],
      [claimOf('i1.1', 'bob', 0), 'ttlMs'],
    ] as const) {
      const error = await server.enqueue('job', 'w', 1n, 1_000, 100, { claim }).catch((thrown: unknown) => thrown);
      expect(error).toMatchObject({ details: { field } });
    }
    await expect(server.leave('job', 'w', 100, '')).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

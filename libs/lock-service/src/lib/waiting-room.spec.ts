// Who an event wakes: the first local waiter in queue order, on every
// server's event, and every waiter still joining.
import { createLogger } from '@bulwark/logging';
import { LocalLockEvents } from './local-lock-events';
import { Waiter, WaitingRoom } from './waiting-room';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
const never = new AbortController().signal;

function waiter(id: string, ticket: bigint | undefined): Waiter {
  const made = new Waiter(id);
  made.ticket = ticket;
  return made;
}

describe('WaitingRoom', () => {
  let events: LocalLockEvents;
  let room: WaitingRoom;

  beforeEach(() => {
    events = new LocalLockEvents();
    room = new WaitingRoom(events, logger);
  });

  it('wakes only the first waiter in queue order (ticket, then id)', async () => {
    const later = waiter('i/2', 7n);
    const first = waiter('i/1', 5n);
    const tie = waiter('i/0', 7n);
    for (const each of [later, first, tie]) await room.enter('a', each);
    events.emit('a', { kind: 'released', token: 1n, attempt: 'q.1' }, 's1');
    expect([first.takeWake(), tie.takeWake(), later.takeWake()]).toEqual([true, false, false]);
    room.leave('a', first);
    events.emit('a', { kind: 'expired' }, 's1');
    expect([tie.takeWake(), later.takeWake()]).toEqual([true, false]);
  });

  it("wakes again on each server's event, since the one that frees the lock on a majority may come last", async () => {
    const first = waiter('i/1', 1n);
    await room.enter('a', first);
    events.emit('a', { kind: 'released', token: 3n, attempt: 'q.3' }, 's1');
    expect(await first.next(1_000, never)).toBe('woken');
    events.emit('a', { kind: 'released', token: 3n, attempt: 'q.3' }, 's1');
    expect(await first.next(1_000, never)).toBe('woken');
  });

  it('wakes a waiter still joining the queue, which may have joined before the event', async () => {
    const joining = waiter('i/1', undefined);
    const queued = waiter('i/2', 9n);
    await room.enter('a', joining);
    await room.enter('a', queued);
    events.emit('a', { kind: 'left' }, 's1');
    expect([joining.takeWake(), queued.takeWake()]).toEqual([true, true]);
  });

  it('wakes everyone after a server resubscribed, since events may have been missed', async () => {
    const all = [waiter('i/1', 1n), waiter('i/2', 2n)];
    for (const each of all) await room.enter('a', each);
    events.emit('a', { kind: 'resubscribed' }, 's1');
    expect(all.map((each) => each.takeWake())).toEqual([true, true]);
  });

  it('watches a name while it has waiters and stops after the last one leaves', async () => {
    const one = waiter('i/1', 1n);
    const two = waiter('i/2', 2n);
    await room.enter('a', one);
    await room.enter('a', two);
    expect(events.watching('a')).toBe(1);
    room.leave('a', one);
    room.leave('a', two);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events.watching('a')).toBe(0);
    expect(room.size).toBe(0);
  });

  it('tells a handover to the waiter whose claim it went to, alone, with the server that made it', async () => {
    const first = waiter('i/1', 1n);
    const second = waiter('i/2', 2n);
    for (const each of [first, second]) await room.enter('a', each);
    room.claim('a', first, 'q.7');
    room.claim('a', second, 'q.8');
    events.emit('a', { kind: 'released', token: 3n, attempt: 'q.3', handedTo: { token: 4n, attempt: 'q.7' } }, 's1');
    events.emit('a', { kind: 'released', token: 3n, attempt: 'q.3', handedTo: { token: 4n, attempt: 'q.7' } }, 's2');
    expect([...first.handovers.values()]).toMatchObject([
      { token: 4n, attempt: 'q.7', servers: new Set(['s1', 's2']) },
    ]);
    expect(await first.next(1_000, never)).toBe('news');
    // The lock is held again on those servers: nobody was woken to try for it.
    expect([first.takeWake(), second.takeWake(), second.handovers.size]).toEqual([false, false, 0]);
  });

  it('counts a handover of a lock that was free on a server (nothing released there) with the released ones', async () => {
    const released: bigint[] = [];
    const hooked = new WaitingRoom(events, logger, { onReleased: (_name, token) => released.push(token) });
    const first = waiter('i/1', 1n);
    const second = waiter('i/2', 2n);
    for (const each of [first, second]) await hooked.enter('a', each);
    hooked.claim('a', first, 'q.7');
    events.emit('a', { kind: 'released', token: 3n, attempt: 'q.3', handedTo: { token: 4n, attempt: 'q.7' } }, 's1');
    events.emit('a', { kind: 'handed', handedTo: { token: 4n, attempt: 'q.7' } }, 's3');
    expect([...first.handovers.values()]).toMatchObject([
      { token: 4n, attempt: 'q.7', servers: new Set(['s1', 's3']) },
    ]);
    expect([first.takeWake(), second.takeWake()]).toEqual([false, false]);
    expect(released).toEqual([3n, 4n, 4n]);
  });

  it('keeps a handover that overtook the answer to the enqueue, for the claim it names', async () => {
    const joining = waiter('i/1', undefined);
    await room.enter('a', joining);
    events.emit('a', { kind: 'released', token: 3n, attempt: 'q.3', handedTo: { token: 4n, attempt: 'q.9' } }, 's2');
    expect(joining.handovers.size).toBe(0);
    room.claim('a', joining, 'q.9');
    expect([...joining.handovers.values()]).toMatchObject([{ token: 4n, attempt: 'q.9', servers: new Set(['s2']) }]);
  });

  it("keeps only news of its own instance's claims for a waiter still joining", async () => {
    const own = new WaitingRoom(events, logger, { ownClaim: (attempt) => attempt.startsWith('q.') });
    const joining = waiter('i/1', undefined);
    await own.enter('a', joining);
    events.emit('a', { kind: 'released', token: 3n, attempt: 'q.3', handedTo: { token: 4n, attempt: 'r.9' } }, 's2');
    events.emit('a', { kind: 'released', token: 3n, attempt: 'q.3', handedTo: { token: 4n, attempt: 'q.9' } }, 's2');
    own.claim('a', joining, 'r.9');
    expect(joining.handovers.size).toBe(0);
    own.claim('a', joining, 'q.9');
    expect([...joining.handovers.values()]).toMatchObject([{ token: 4n, attempt: 'q.9' }]);
  });
});

// The waiters of one lock-service instance, per lock name, and who among
// them an event wakes. Every instance hears every release, queue departure
// and expiry of a name it has waiters for (pub/sub on each backend server);
// only the first of its own waiters in queue order (ticket, then id: the
// order every server keeps) is woken, because only the queue's head can be
// granted and, if the head waits here at all, it is that one. A release is
// so answered by one attempt per instance, not one per waiter.
import type { Logger } from '@bulwark/logging';
import type { LockEvent, LockEventSource } from '@bulwark/lock-redis';

/** One waiting Acquire: woken by events, by its timers, or by the call ending. */
export class Waiter {
  /** Its place in the queue, once a majority has it. */
  ticket: bigint | undefined;
  private woken = false;
  private wakeUp: (() => void) | undefined;

  constructor(readonly id: string) {}

  /** Wakes the waiter now, or at its next wait if it is busy (a wake is never lost). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Whether a wake-up came since the last wait, consuming it. */
  takeWake(): boolean {
    const woken = this.woken;
    this.woken = false;
    return woken;
  }

  /** Waits until woken, timeoutMs passes or signal aborts; says which came first. */
  async next(timeoutMs: number, signal: AbortSignal): Promise<'woken' | 'timeout' | 'aborted'> {
    if (signal.aborted) return 'aborted';
    if (!this.woken && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.wakeUp = undefined;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        signal.addEventListener('abort', done);
        this.wakeUp = done;
      });
    }
    if (signal.aborted) return 'aborted';
    if (!this.woken) return 'timeout';
    this.woken = false;
    return 'woken';
  }
}

export interface WaitingRoomHooks {
  /** Told every released token heard, so the next grant can try the token after it at once. */
  readonly onReleased?: (name: string, token: bigint) => void;
  /** Whether a released attempt is this instance's own undo, which wakes nobody. */
  readonly ownUndo?: (attempt: string) => boolean;
}

interface Room {
  readonly waiters: Set<Waiter>;
  /** Resolves once the name's events are watched on every connected server. */
  readonly watching: Promise<() => void>;
}

/** Byte order of ASCII ids, as a Redis sorted set orders members of one score. */
function queueOrder(a: Waiter, b: Waiter): number {
  const byTicket = (a.ticket ?? 0n) - (b.ticket ?? 0n);
  if (byTicket !== 0n) return byTicket < 0n ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class WaitingRoom {
  private readonly rooms = new Map<string, Room>();

  constructor(
    private readonly events: LockEventSource,
    private readonly logger: Logger,
    private readonly hooks: WaitingRoomHooks = {},
  ) {}

  /**
   * Adds waiter to name's room, resolving once name's events are watched, so
   * a release after this resolves wakes somebody here.
   */
  async enter(name: string, waiter: Waiter): Promise<void> {
    let room = this.rooms.get(name);
    if (!room) {
      const watching = this.events.watch(name, (event) => this.onEvent(name, event));
      room = { waiters: new Set(), watching };
      this.rooms.set(name, room);
      // A failed watch leaves the waiters to their periodic re-check.
      watching.catch((error: unknown) => this.logger.warn({ err: error, lock: name }, 'cannot watch lock events'));
    }
    room.waiters.add(waiter);
    await room.watching.catch(() => undefined);
  }

  leave(name: string, waiter: Waiter): void {
    const room = this.rooms.get(name);
    // A waiter that gives up leaves the backends' queue too, which publishes its departure when that matters.
    if (!room || !room.waiters.delete(waiter) || room.waiters.size > 0) return;
    this.rooms.delete(name);
    room.watching.then(
      (unwatch) => unwatch(),
      () => undefined,
    );
  }

  /** How many Acquire calls wait here, over all names. */
  get size(): number {
    let waiting = 0;
    for (const room of this.rooms.values()) waiting += room.waiters.size;
    return waiting;
  }

  private onEvent(name: string, event: LockEvent): void {
    const room = this.rooms.get(name);
    if (!room) return;
    // Events may have been missed while a server was away: everyone looks again.
    if (event.kind === 'resubscribed') {
      for (const waiter of room.waiters) waiter.wake();
      return;
    }
    // Every server's event wakes the first waiter again: the one that frees the lock on a majority may come
    // last. Wake-ups during an attempt merge into one more look.
    if (event.kind === 'released') {
      this.hooks.onReleased?.(name, event.token);
      if (this.hooks.ownUndo?.(event.attempt)) return;
    }
    this.wakeFirst(room);
  }

  private wakeFirst(room: Room): void {
    let first: Waiter | undefined;
    for (const waiter of room.waiters) {
      // A waiter still joining the queue may have joined before this event on the servers, and would otherwise
      // learn of it only at its next renewal: it looks at the lock once it has joined.
      if (waiter.ticket === undefined) waiter.wake();
      else if (!first || queueOrder(waiter, first) < 0) first = waiter;
    }
    first?.wake();
  }
}

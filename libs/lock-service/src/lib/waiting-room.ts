// The waiters of one lock-service instance, per lock name, and who among
// them an event wakes. Every instance hears every release, queue departure
// and expiry of a name it has waiters for (pub/sub on each backend server);
// only the first of its own waiters in queue order (ticket, then id: the
// order every server keeps) is woken, because only the queue's head can be
// granted and, if the head waits here at all, it is that one. A release is
// so answered by one attempt per instance, not one per waiter. A release
// that handed the lock over to a waiter's claim wakes that waiter alone,
// with the news of which server did it: the lock is not free there.
import { setBounded } from '@bulwark/lock-core';
import type { Logger } from '@bulwark/logging';
import type { HandedTo, LockEvent, LockEventSource } from '@bulwark/lock-redis';

/** A handover to one of a waiter's claims, as the servers told of it. */
export interface HeardHandover {
  readonly token: bigint;
  readonly attempt: string;
  /** The servers that told of it so far. */
  readonly servers: Set<string>;
  /** When the first of them did. */
  readonly heardAtMs: number;
}

/** One waiting Acquire: woken by events, by its timers, or by the call ending. */
export class Waiter {
  /** Its place in the queue, once a majority has it. */
  ticket: bigint | undefined;
  /** The attempt a release hands the lock over to it under, once queued with a claim. */
  claimAttempt: string | undefined;
  /** Every claim attempt it queued under, the current one too: news of a retired one is news to undo. */
  readonly claimAttempts = new Set<string>();
  /** The handovers to its claims heard of, by `<token>:<attempt>`. */
  readonly handovers = new Map<string, HeardHandover>();
  /** Called on each handover news, after it is counted. */
  onNews: (() => void) | undefined;
  /** Set once it holds the lock and only hears out a handover's news: events wake others. */
  done = false;
  /** The handover it took, if it took one (its other claims' handovers are strays once it has left). */
  taken: { readonly token: bigint; readonly attempt: string } | undefined;
  /** Set once its wait ended with the lock, by a handover or by a round. */
  granted = false;
  private woken = false;
  private news = false;
  private wakeUp: (() => void) | undefined;

  constructor(
    readonly id: string,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Stops counting a handover (undone, or not this waiter's to take). */
  forgetHandover(handover: HeardHandover): void {
    this.handovers.delete(`${handover.token}:${handover.attempt}`);
  }

  /** Wakes the waiter now, or at its next wait if it is busy (a wake is never lost). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Notes that serverId handed the lock over to attempt under token, and wakes the waiter to count. */
  heardHandover(serverId: string, token: bigint, attempt: string): void {
    const key = `${token}:${attempt}`;
    let handover = this.handovers.get(key);
    if (!handover) {
      handover = { token, attempt, servers: new Set(), heardAtMs: this.nowMs() };
      this.handovers.set(key, handover);
    }
    handover.servers.add(serverId);
    this.news = true;
    this.wakeUp?.();
    this.onNews?.();
  }

  /** Whether a wake-up came since the last wait, consuming it. */
  takeWake(): boolean {
    const woken = this.woken;
    this.woken = false;
    return woken;
  }

  /**
   * Waits until woken, told of a handover ('news': nothing else), timeoutMs
   * passes or signal aborts; says which came first.
   */
  async next(timeoutMs: number, signal: AbortSignal): Promise<'woken' | 'news' | 'timeout' | 'aborted'> {
    if (signal.aborted) return 'aborted';
    if (!this.woken && !this.news && timeoutMs > 0) {
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
    const news = this.news;
    this.news = false;
    if (!this.woken) return news ? 'news' : 'timeout';
    this.woken = false;
    return 'woken';
  }
}

export interface WaitingRoomHooks {
  /** Told every released or handed-over token heard, so the next grant can try the token after it at once. */
  readonly onReleased?: (name: string, token: bigint) => void;
  /** Whether a released attempt is this instance's own undo, which wakes nobody. */
  readonly ownUndo?: (attempt: string) => boolean;
  /** Whether a claim attempt is this instance's: only those are kept for a waiter still joining. */
  readonly ownClaim?: (attempt: string) => boolean;
  /** Told of each waiter that has left the room, with its claims: none is taken again. */
  readonly retired?: (name: string, waiter: Waiter) => void;
  /** A handover to a claim no waiter here holds: true when it was a retired waiter's (then dealt with). */
  readonly strayHandover?: (name: string, serverId: string, handedTo: HandedTo) => boolean;
}

interface Room {
  readonly waiters: Set<Waiter>;
  /** The waiters here by their claim's attempt. */
  readonly claimed: Map<string, Waiter>;
  /**
   * Handovers to claims no waiter here has yet: news can overtake the
   * answer to the enqueue that left the claim. By attempt, the oldest
   * forgotten past unclaimedMax.
   */
  readonly unclaimed: Map<string, Array<{ serverId: string; token: bigint }>>;
  /** Resolves once the name's events are watched on every connected server. */
  readonly watching: Promise<() => void>;
}

/** Enough to hold the handovers to the claims of this instance's enqueues still in flight. */
const unclaimedMax = 256;

/** Byte order of ASCII ids, as a Redis sorted set orders members of one score. */
function queueOrder(a: Waiter, b: Waiter): number {
  const byTicket = (a.ticket ?? 0n) - (b.ticket ?? 0n);
  if (byTicket !== 0n) return byTicket < 0n ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Its waiters still waiting: one that took a handover stays a moment to hear the rest of the news. */
function waitingIn(room: Room): number {
  let waiting = 0;
  for (const waiter of room.waiters) if (!waiter.done) waiting += 1;
  return waiting;
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
      const watching = this.events.watch(name, (event, serverId) => this.onEvent(name, event, serverId));
      room = { waiters: new Set(), claimed: new Map(), unclaimed: new Map(), watching };
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
    if (!room || !room.waiters.delete(waiter)) return;
    for (const attempt of waiter.claimAttempts) room.claimed.delete(attempt);
    this.hooks.retired?.(name, waiter);
    if (room.waiters.size > 0) return;
    this.rooms.delete(name);
    room.watching.then(
      (unwatch) => unwatch(),
      () => undefined,
    );
  }

  /** Gives waiter its claim's attempt (it still hears of its earlier ones), with any handover to it heard before. */
  claim(name: string, waiter: Waiter, attempt: string): void {
    const room = this.rooms.get(name);
    if (!room?.waiters.has(waiter)) return;
    waiter.claimAttempt = attempt;
    waiter.claimAttempts.add(attempt);
    room.claimed.set(attempt, waiter);
    const heard = room.unclaimed.get(attempt);
    if (!heard) return;
    room.unclaimed.delete(attempt);
    for (const { serverId, token } of heard) waiter.heardHandover(serverId, token, attempt);
  }

  /** Whether any Acquire waits here for name. */
  has(name: string): boolean {
    return this.rooms.has(name);
  }

  /** How many Acquire calls wait here, over all names. */
  get size(): number {
    let waiting = 0;
    for (const room of this.rooms.values()) waiting += waitingIn(room);
    return waiting;
  }

  /** The most Acquire calls waiting here for one name. */
  get longestQueue(): number {
    let longest = 0;
    for (const room of this.rooms.values()) longest = Math.max(longest, waitingIn(room));
    return longest;
  }

  private onEvent(name: string, event: LockEvent, serverId: string): void {
    const room = this.rooms.get(name);
    if (!room) return;
    // Events may have been missed while a server was away: everyone looks again.
    if (event.kind === 'resubscribed') {
      for (const waiter of room.waiters) waiter.wake();
      return;
    }
    if (event.kind === 'released') this.hooks.onReleased?.(name, event.token);
    if ((event.kind === 'released' || event.kind === 'handed') && event.handedTo) {
      this.onHandover(room, name, serverId, event.handedTo);
      return;
    }
    if (event.kind === 'released' && this.hooks.ownUndo?.(event.attempt)) return;
    // Every server's event wakes the first waiter again: the one that frees the lock on a majority may come
    // last. Wake-ups during an attempt merge into one more look.
    this.wakeFirst(room);
  }

  /** Held again on that server: only the waiter it went to has news. */
  private onHandover(room: Room, name: string, serverId: string, handedTo: HandedTo): void {
    this.hooks.onReleased?.(name, handedTo.token);
    const waiter = room.claimed.get(handedTo.attempt);
    if (waiter) {
      waiter.heardHandover(serverId, handedTo.token, handedTo.attempt);
      return;
    }
    // A waiter of this instance that has left: no one takes it.
    if (this.hooks.strayHandover?.(name, serverId, handedTo)) return;
    // Another instance's waiter (its instance hears of it too), or one of this instance still joining.
    if (this.hooks.ownClaim?.(handedTo.attempt) ?? true) this.keepUnclaimed(room, serverId, handedTo);
  }

  private keepUnclaimed(room: Room, serverId: string, handedTo: HandedTo): void {
    const heard = room.unclaimed.get(handedTo.attempt) ?? [];
    heard.push({ serverId, token: handedTo.token });
    setBounded(room.unclaimed, handedTo.attempt, heard, unclaimedMax);
  }

  private wakeFirst(room: Room): void {
    let first: Waiter | undefined;
    for (const waiter of room.waiters) {
      if (waiter.done) continue;
      // A waiter still joining the queue may have joined before this event on the servers, and would otherwise
      // learn of it only at its next renewal: it looks at the lock once it has joined.
      if (waiter.ticket === undefined) waiter.wake();
      else if (!first || queueOrder(waiter, first) < 0) first = waiter;
    }
    first?.wake();
  }
}

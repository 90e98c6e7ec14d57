// One lock backend server as the quorum sees it: a Redis server through its
// Lua scripts in production, an in-memory one in tests and the `memory`
// backend. Each call is atomic on that server. Per lock name a server keeps
// the holder (owner, token and the attempt that took it, with a TTL) and a
// fence: the highest token it has ever granted for the name, which only
// grows and never expires. For
// fairness it also keeps a queue of waiters, each with a ticket and a lease,
// ordered by (ticket, waiterId), and a ticket counter: the highest ticket
// issued here, which only grows and never expires. A waiter may leave a
// claim with its entry (the owner, TTL and attempt id it would hold the lock
// under): a release can then hand the lock straight to the queue's head, in
// the same atomic step, instead of freeing it for the head to take.

/** Who holds a lock on one server, and for how much longer there. */
export interface ServerHolder {
  readonly owner: string;
  readonly token: bigint;
  /** The grant attempt that took the lock here: two attempts may try one token, and one owner make both. */
  readonly attempt: string;
  readonly remainingTtlMs: number;
}

/** The waiters queued for a lock on one server whose lease has not run out there. */
export interface ServerQueue {
  /** The first by (ticket, waiterId); undefined when nobody waits. */
  readonly head: string | undefined;
  readonly length: number;
}

/** A lock on one server: its fence (0 before any grant), ticket counter (0 before any enqueue), holder and queue. */
export interface ServerLockState {
  readonly fence: bigint;
  readonly ticket: bigint;
  readonly holder: ServerHolder | undefined;
  readonly queue: ServerQueue;
}

/** What one server did with a conditional grant; checked in this order: held, queued, stale. */
export type ServerGrant =
  /** The lock was free, the caller first in line and the fence below the token: the fence is now the token, the caller holds the lock here and has left the queue here. */
  | { readonly outcome: 'granted' }
  /** Someone holds the lock here (the caller too, under another token): nothing changed. */
  | { readonly outcome: 'held'; readonly fence: bigint; readonly holder: ServerHolder }
  /** Another waiter, head, is first in line here: nothing changed. */
  | { readonly outcome: 'queued'; readonly fence: bigint; readonly head: string }
  /** The fence is at or above the token (another grant took it): nothing changed. */
  | { readonly outcome: 'stale'; readonly fence: bigint };

/** What a waiter holds the lock as if a release hands it over: the grant it would have taken itself. */
export interface ServerClaim {
  readonly owner: string;
  /** Its own attempt id, as a grant attempt's: never used by another grant. */
  readonly attempt: string;
  readonly ttlMs: number;
}

/** A waiter's place on one server after an enqueue. */
export type ServerEnqueued =
  | {
      readonly outcome: 'queued';
      /** The ticket the waiter holds here: an entry that was there already keeps its ticket. */
      readonly ticket: bigint;
      /** The first waiter here (the caller, when nobody is ahead of it). */
      readonly head: string;
      /** Whether someone holds the lock here. */
      readonly held: boolean;
    }
  /** A release here handed the lock over to the waiter's claim, under token: nothing was queued. */
  | { readonly outcome: 'handed'; readonly token: bigint }
  /** A join whose ticket is not above the ticket counter here: nothing changed. */
  | { readonly outcome: 'stale'; readonly counter: bigint };

/** What an enqueue carries beyond the waiter's ticket and lease. */
export interface ServerEnqueue {
  /** What a release hands the lock over as, kept with the entry (none: the entry keeps no claim). */
  readonly claim?: ServerClaim;
  /** A join: queued only if the ticket is above the ticket counter (a renewal queues whatever its ticket). */
  readonly join?: boolean;
}

/** The grant being released as the instance that answered it knows it: see ServerRelease.releaser. */
export interface ServerReleaser {
  /** The waiter it was granted to, if it waited. */
  readonly waiterId?: string;
  /** The claim it was handed over to, if it was a handover. */
  readonly claimAttempt?: string;
}

/** How a release goes beyond freeing the grant of owner and token. */
export interface ServerRelease {
  /** Exactly that grant: only the holder under this attempt is freed. */
  readonly attempt?: string;
  /** The token to hand the lock over under, to the queue's head, once it is free here. */
  readonly nextToken?: bigint;
  /**
   * The releasing grant as the instance that answered it knows it, which
   * vouches for the release (its token was granted): only then is a lock
   * already free here handed over too (an unchecked token would raise the
   * fence as far as the caller likes). With the waiter it was granted to
   * (by a round, or a handover to claimAttempt): wherever the lock was not
   * granted to it, nothing may be later, so the waiter's entry leaves the
   * queue here (even while someone else holds the lock), and a handover to
   * its claim under another token is freed as the grant itself is.
   */
  readonly releaser?: ServerReleaser;
}

export interface LockServer {
  /** Names the server in errors and logs. */
  readonly id: string;
  /** Drops waiters whose lease ran out, then reports the lock. */
  inspect(name: string, timeoutMs: number): Promise<ServerLockState>;
  /**
   * Atomically, after dropping waiters whose lease ran out: if nobody holds
   * name, the queue is empty or waiterId is its head, and the fence is below
   * token, raise the fence to token, make owner the holder under token and
   * attempt for ttlMs and take waiterId out of the queue. Without a
   * waiterId the queue must be empty: no grant passes a waiter.
   */
  grant(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    ttlMs: number,
    timeoutMs: number,
    waiterId?: string,
  ): Promise<ServerGrant>;
  /**
   * Atomically: if owner holds name under token (and options.attempt, when
   * given: exactly that grant), free it (true); if anyone else holds it,
   * change nothing (false), but for options.releaser. With
   * options.nextToken, a lock just freed (or free already, for a vouched
   * release: options.releaser) is then handed over, after dropping waiters
   * whose lease ran out: if the queue's head left a claim and the fence is
   * below nextToken, raise the fence to nextToken, make the claim the
   * holder under nextToken for its TTL and take the head out of the queue.
   * It tells of the release with the released token and attempt, and of a
   * handover with nextToken and the claim's attempt.
   */
  release(name: string, owner: string, token: bigint, timeoutMs: number, options?: ServerRelease): Promise<boolean>;
  /**
   * Atomically: if owner holds name under token (whatever the attempt),
   * hold it ttlMs from now and answer the holder's attempt; otherwise
   * change nothing (undefined).
   */
  refresh(name: string, owner: string, token: bigint, ttlMs: number, timeoutMs: number): Promise<string | undefined>;
  /**
   * Atomically, after dropping waiters whose lease ran out: if
   * options.claim's attempt holds name (a release handed it over), answer
   * handed and change nothing; if options.join and ticket is not above the
   * ticket counter, answer
   * stale and change nothing (a join's ticket must be above every ticket
   * queued here before). Otherwise queue waiterId with ticket (an entry
   * already there takes it too), make its lease end leaseMs from now, keep
   * claim with it (or none), and raise the ticket counter to ticket if that
   * is higher.
   */
  enqueue(
    name: string,
    waiterId: string,
    ticket: bigint,
    leaseMs: number,
    timeoutMs: number,
    options?: ServerEnqueue,
  ): Promise<ServerEnqueued>;
  /**
   * Atomically: take waiterId out of the queue, and when claimAttempt holds
   * name (a handover the waiter will not take), free it and tell of it as
   * a release. True if either was there.
   */
  leave(name: string, waiterId: string, timeoutMs: number, claimAttempt?: string): Promise<boolean>;
}

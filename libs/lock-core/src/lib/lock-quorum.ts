// Locks over a majority of independent lock servers, with fencing tokens
// that strictly increase per name.
//
// A grant is two rounds. First every server is asked for the lock's fence
// (the highest token it ever granted), holder and queue; the lock is free
// if a majority of servers answer that nobody holds it there and nobody
// else is first in line, and the token is one more than the largest fence
// any of them reports. Then every server is asked to grant that token,
// conditionally: only if nobody holds the lock there, nobody else is first
// in line and its fence is below the token (grant() raises the fence and
// takes the lock in one atomic step). The grant counts only if a majority
// granted it, within the validity time.
//
// Why tokens strictly increase (ARCHITECTURE, Locks):
// - Two grants never share a token: each needs a majority of servers to
//   raise their fence to it, any two majorities share a server, and a
//   server raises its fence to a given value at most once (the raise is
//   conditional on the fence being below it).
// - A grant that completed before another started is seen by it: the
//   first raised the fence on a majority, the second reads a majority, the
//   two share a server, so the second's token is above the first's.
// - A server that restarts keeps its fence (Redis with appendfsync always):
//   forgetting an acknowledged raise is the one thing that breaks this.
// Fences are never lowered, so a failed grant only makes tokens skip.
//
// Validity: the lease on each server starts when that server granted it,
// which is after the first round began; counted on the caller's monotonic
// clock from before the first round, minus a drift allowance for servers'
// clocks running fast, it ends no later than on any server of the
// majority. A grant whose validity is spent before it completes is undone
// and not returned.
//
// Known fences: the read round only picks a token that is likely to win.
// Safety comes from the conditional grant alone (a majority must raise
// its fence to the token, and only from below), so a token guessed as one
// more than the last fence this quorum saw (its own grants, the fences
// servers reported, releases the caller heard of) is as safe as a token
// read: two grants still cannot share it, and a grant that completed
// earlier raised a majority that the guess must also pass, so the guess
// is above its token or fails. A guess that fails only on stale fences is
// undone and followed by the read round; a grant is then one round, not two.
//
// Attempts: tokens are unique only among grants that counted. Two grant
// rounds can try the same token (concurrent reads of the same fences, or
// a guess at a token another instance has just granted), and the same
// owner can make both (one caller's concurrent requests, a retry through
// another instance). So each round has an attempt id of its own (the
// quorum's attemptPrefix and a counter), and the holder on a server names
// the attempt that took it. Why an undo can only free its own attempt:
// - It releases exactly (token, attempt, owner), never by owner and token
//   alone: a holder with the same owner and token is another attempt's,
//   and may be the one that counted and was returned to its caller.
// - It releases only where the grant answered granted or did not answer.
//   held, queued and stale are final: nothing changed there, and a grant
//   is never resent (a server applies a call once, or not at all). The
//   undo's release is sent again where it got no answer: being exact, a
//   late or repeated one frees nothing but this attempt's grant.
// - A server raises its fence to a token at most once, so it holds a
//   token under one attempt at most, ever; attempt ids are never reused
//   (two quorums with one prefix would break this: a caller bug).
// Clients refresh by owner and token, and release by them too unless they
// pass the grant's attempt (its lease id): among grants that counted the
// token alone is unique, so that reaches their own grant (and leftovers
// of undone attempts under the same owner and token, which may go too:
// among them a handover to a waiter of the same owner still to be undone,
// which then loses its place there; so callers that share an owner should
// release by lease id, as the lock client always does). A refresh counts
// only when a majority extended one and the same attempt: a holder left
// by an undone attempt may be released at any moment, so it must not help
// make up that majority.
// A release publishes the holder's token and attempt, so a holder hearing
// it can tell its own grant's release from another attempt's undo.
//
// Fairness (ARCHITECTURE, Locks: waiters are granted in arrival order
// across lock-service instances). A waiter takes a ticket and queues on
// every server; each server orders its queue by (ticket, waiterId), the
// same total order everywhere, and grants only to the head of its queue
// (a grant without a waiter only to an empty queue). A waiter joins with a
// ticket it picks itself: the wall clock in microseconds, or above the
// last ticket it tried if that is higher. A server queues a join only if
// its ticket is above the server's ticket counter (the highest ticket it
// ever queued, which only grows and survives restarts), raising the
// counter to it; otherwise it answers stale with the counter. A ticket a
// majority took is a place: the servers that answered stale then queue the
// waiter under it as a renewal would (below their counter), so every
// queue holds it under one ticket. While a majority answers stale the
// waiter joins again, everywhere, above the highest counter reported (by a
// random part of a millisecond, doubling each round, so joins that
// collided spread apart; its entries take the new ticket); after a dozen
// rounds it gives up (aborted: joins through other instances kept
// overtaking it). Clocks that
// disagree only cost such rounds. Entries have leases the waiter renews;
// servers drop the ones that ran out, so a waiter whose instance died
// stops blocking.
// - A waiter A whose enqueue returned before B's began holds a lower
//   ticket: A raised the counters of a majority to its ticket, B's ticket
//   is above the counters of the majority that queued it, the two share a
//   server. (A server never takes a join at or below its counter, and
//   queues a ticket below it only for a waiter whose ticket a majority
//   took as a join: a join in between rounds is never ahead of a join
//   that returned.)
// - While A's place lasts on the majority M that took it (A is queued
//   there, or holds the lock there), neither B nor a grant without a
//   waiter gets any server of M. Either needs a majority, which meets M,
//   so neither completes before A's grant, unless A gives up or its place
//   lapses somewhere in M first.
// - A's entry leaves a server only by a lapse, by A leaving, or by A's
//   grant there. A grant that does not count is undone by queueing A again
//   with the same ticket (the same place) wherever the grant may have
//   taken it out, and only then releasing the grant there. Where that
//   re-enqueue fails the release is skipped: the grant's own lease keeps
//   A's place until A's next renewal puts its entry back (if that comes
//   too late, the place lapses there). After a grant that counts, A leaves
//   the servers that did not grant it.
// - So a waiter that renews in time is passed only by waiters whose
//   enqueue overlapped its own (concurrent enqueues may share a ticket;
//   they are ordered by waiterId) and by grants whose attempt was under way
//   before its enqueue returned: each at most once, since a later enqueue
//   or attempt comes after it. The bound is the number of waiters and
//   attempts in flight when it queued, not how long it waits.
// - The queue never wedges: the first of the entries held on a majority is
//   head on every server of that majority, unless an entry held only on a
//   minority is ahead of it there; such an entry (an enqueue that failed)
//   is left at once, or lapses with its lease.
//
// Handover (one round per turn of a hot lock, not two). A waiter queues
// with a claim: its owner, TTL and an attempt id of its own, drawn like a
// grant round's. A release passes the next token (one more than the
// released one, or than the last fence seen, if higher), and each server
// that frees the lock hands it at once to its queue's head if the head
// left a claim and the fence is below that token: one atomic step that is
// exactly the grant the head would have made (fence raised conditionally,
// holder written under the claim's attempt, head out of the queue). Each
// server tells of it (pub/sub), and the waiter holds the lock once a
// majority handed it over under the same token and attempt.
// - Tokens: the handover's conditional raise is a grant's, so two grants
//   never share a token and every later grant sees it, as above.
// - Arrival order: a server hands over only to its own head, as it would
//   grant only to it; a majority must agree, as for a grant.
// - Validity: the waiter never learns when the releaser sent its release,
//   and clocks of different machines are never compared. But no server can
//   hand the lock to a claim before the enqueue that left it arrived there,
//   so the lease on every server started after that enqueue was sent: the
//   validity is counted from then, on the waiter's own clock (a waiter that
//   waited long gets little validity, and refreshes before answering).
// - A handover short of a majority holds the lock on a minority only, under
//   an attempt that is the waiter's alone: renewing its place there answers
//   handed (it never queues behind its own grant), and leaving the queue
//   frees it (leave names the claim's attempt). A waiter that gives up
//   leaves, so a handover it never takes is freed, not left to its TTL.
// - A release with a next token vouched for by the instance that answered
//   the grant (the releaser: its token was granted) hands over on a server
//   where the lock was already free too (its lease ran out there, a grant
//   or handover never reached it, or one was undone there), never where
//   anyone else holds it: on a free lock that is again exactly the head's
//   own grant, so the above holds. It keeps servers in step: otherwise a
//   server that missed one turn would miss every later one (no holder
//   there to release), and each turn would cost a leave there and wake a
//   grant round bound to fail. Unvouched, a release's token is checked
//   only against a holder, so on a free lock a made-up one could raise the
//   fences as far as it likes: such a release hands over only the lock it
//   frees.
// - A holder that was granted the lock as a waiter (a handover to its
//   claim, or a round) releases it naming its waiter and claim (the
//   releaser). Its release can overtake, on a slow server, the very
//   release that handed the lock to it (the two come from different
//   instances): that server would then hand the lock to it after it let
//   go, to be held by nobody until its TTL. So there the releaser's entry
//   leaves the queue even while someone else still holds the lock (the
//   late release then hands over to the next head), and a handover to its
//   claim under another token is freed as its grant is. A round's grant
//   whose leave did not reach a server is covered the same way: that
//   server hands nothing to the entry left there after its waiter let go.
//   Both only touch the releaser's own entry and claim, never anyone
//   else's grant.
import { AbortedError, FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { requireAttemptPrefix } from './lock-attempts';
import { setBounded } from './bounded-map';
import type {
  LockServer,
  ServerClaim,
  ServerEnqueued,
  ServerGrant,
  ServerHolder,
  ServerLockState,
  ServerQueue,
  ServerRelease,
} from './lock-server';
import { requireTicket, requireWaiterId, requireWaiterLeaseMs } from './lock-waiters';
import { tokenMax } from './lock-tokens';

export interface LockQuorumOptions {
  readonly servers: readonly LockServer[];
  /** The caller's monotonic clock, ms. */
  readonly nowMs: () => number;
  /** How long one call to one server may take. */
  readonly callTimeoutMs: number;
  /** Subtracted from every lease for clocks that run at different rates: a fraction of the TTL, plus a constant. */
  readonly driftFraction?: number;
  readonly driftMinMs?: number;
  /** Waiters' places (ticket and lease) remembered to undo a grant; the oldest is forgotten past this. */
  readonly placesMax?: number;
  /** Lock names whose last fence seen is remembered, to grant in one round; the oldest is forgotten past this. */
  readonly knownFencesMax?: number;
  /**
   * The wall clock, ms since the epoch (Date.now by default): joins guess
   * their ticket from it, and clocks of different machines may disagree,
   * which costs a join a second round, never its place.
   */
  readonly wallClockMs?: () => number;
  /** Uniform in [0, 1): spreads tickets (Math.random by default; a simulation passes its seeded one). */
  readonly random?: () => number;
  /**
   * Starts the id of every grant attempt of this quorum (`<prefix>.<n>`):
   * 1 to 47 characters of A-Z, a-z, 0-9, _, . and -. No two quorums may
   * share one, or one's undo could free the other's grant: every process
   * (a lock-service instance) passes its own, e.g. its instance id and a
   * nonce drawn at boot. The default, `q<k>` (the k-th quorum made in this
   * process), is unique within one process only.
   */
  readonly attemptPrefix?: string;
}

/** A lock held on a majority until validUntilMs (on the caller's clock). */
export interface Grant {
  readonly token: bigint;
  /** The attempt that took the lock: a release published with this token and attempt is this grant's. */
  readonly attempt: string;
  readonly validUntilMs: number;
}

export type AcquireAttempt =
  | { readonly acquired: true; readonly grant: Grant }
  /**
   * Held by someone (the holder with the highest token any server
   * reported), taken by a concurrent grant, or (queued) another waiter is
   * first in line on so many servers that the caller could not get a majority.
   */
  | { readonly acquired: false; readonly holder: ServerHolder | undefined; readonly queued: boolean };

/** What a waiter asks to be handed over: the lock for owner, for ttlMs. */
export interface WaiterClaim {
  readonly owner: string;
  readonly ttlMs: number;
}

/** A waiter's place in line after an enqueue. */
export interface QueuePlace {
  /** Pass it to renew the lease: the same ticket keeps the same place. */
  readonly ticket: bigint;
  /** The waiter is first in line on a majority of servers. */
  readonly first: boolean;
  /** Nobody holds the lock on a majority of servers. */
  readonly free: boolean;
  /** The attempt id a release hands the lock over under, when the waiter queued with a claim. */
  readonly claimAttempt: string | undefined;
  /**
   * A majority had handed the lock over to the claim already (a renewal
   * found it so): the waiter holds it, and has left the queue.
   */
  readonly handed: Grant | undefined;
}

/** A lock as a majority of servers sees it. */
export interface LockView {
  /** The highest fence any server reported: the last token granted. */
  readonly fence: bigint;
  /** The holder a majority agrees on, with the least remaining TTL among them; undefined when free. */
  readonly holder: ServerHolder | undefined;
  /** The most waiters any server that answered has queued. */
  readonly waiters: number;
  /** How many servers answered (a majority at least). */
  readonly answered: number;
  /** Each server that did not answer, and why, in server order. */
  readonly unanswered: readonly string[];
}

export const defaultDriftFraction = 0.01;
export const defaultDriftMinMs = 2;
export const defaultPlacesMax = 10_000;
export const defaultKnownFencesMax = 10_000;
/**
 * The most rounds (calls to every server at once, each up to callTimeoutMs)
 * that one step of a waiter makes and awaits, for a caller that keeps the
 * waiter's place renewed between steps: a grant round and its undo (queue
 * the waiter again, then release), a read, a handover's undo (queue again,
 * then release), a renewal. What is sent without awaiting it (an undo's
 * retries, a leave after a grant) costs the caller nothing.
 */
export const stepRoundsMax = { grantRound: 3, read: 1, undoHandover: 2, renewal: 1 } as const;
/** How many more times an undo's release is sent to a server that did not answer it. */
const undoRetriesMax = 2;
/**
 * Join rounds while a majority refuses the ticket as stale, each above
 * every counter reported, before giving up: a burst of joins through
 * several instances (tens at once) can overtake one join a few times.
 */
const joinRoundsMax = 12;
/**
 * How far above the highest counter reported a join tries again, at random:
 * a millisecond's worth of tickets, doubling each round up to 64 ms, so
 * joins that keep colliding spread apart.
 */
const retrySpread = (round: number) => 1_000 * 2 ** Math.min(round - 1, 6);
/** Enough to recognise the releases of undos still being published. */
const undoneAttemptsKept = 1_024;

/** Counts the quorums made in this process, for their default attemptPrefix. */
let quorumsMade = 0;

/** Each server's answer, undefined where it failed or was not called; problems says why those called failed. */
type ServerAnswers<T> = Array<T | undefined> & { readonly problems: readonly string[] };

/** The problems of a call every server answered. */
const noProblems: readonly string[] = Object.freeze([]);

/** Longest account of one server's failure in an UNAVAILABLE message. */
const problemLengthMax = 200;

interface Place {
  readonly ticket: bigint;
  readonly leaseMs: number;
  readonly claim: PlaceClaim | undefined;
}

interface PlaceClaim extends ServerClaim {
  /** When the first enqueue that left this claim was sent, on the caller's clock: no handover to it is older. */
  readonly sinceMs: number;
}

export class LockQuorum {
  /** Servers that must agree: more than half. */
  readonly majority: number;
  private readonly servers: readonly LockServer[];
  private readonly ids: ReadonlySet<string>;
  private readonly driftFraction: number;
  private readonly driftMinMs: number;
  private readonly placesMax: number;
  /** By name and waiterId: the ticket and lease of each waiter queued through this quorum. */
  private readonly places = new Map<string, Place>();
  /** By name, the highest ticket this quorum took, least recently raised first; as bounded as knownFences. */
  private readonly knownTickets = new Map<string, bigint>();
  private readonly wallClockMs: () => number;
  private readonly random: () => number;
  /** By name, the highest fence seen, least recently raised first; the oldest is forgotten past knownFencesMax. */
  private readonly knownFences = new Map<string, bigint>();
  /** This quorum's recent attempts that were undone, oldest first. */
  private readonly undoneAttempts = new Set<string>();
  private readonly knownFencesMax: number;
  private readonly attemptPrefix: string;
  /** Grant rounds begun; it would take centuries to pass 2^53 - 1, which the prefix leaves room for. */
  private attempts = 0;

  constructor(private readonly options: LockQuorumOptions) {
    if (options.servers.length === 0) throw new RangeError('a lock quorum needs at least one server');
    quorumsMade += 1;
    this.attemptPrefix = options.attemptPrefix ?? `q${quorumsMade}`;
    requireAttemptPrefix(this.attemptPrefix);
    this.servers = options.servers;
    this.ids = new Set(options.servers.map((server) => server.id));
    this.majority = this.majorityOf(options.servers.length);
    this.driftFraction = options.driftFraction ?? defaultDriftFraction;
    this.driftMinMs = options.driftMinMs ?? defaultDriftMinMs;
    this.placesMax = options.placesMax ?? defaultPlacesMax;
    this.knownFencesMax = options.knownFencesMax ?? defaultKnownFencesMax;
    this.wallClockMs = options.wallClockMs ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** How long one call to one server may take. */
  get callTimeoutMs(): number {
    return this.options.callTimeoutMs;
  }

  /** The servers' ids. */
  get serverIds(): ReadonlySet<string> {
    return this.ids;
  }

  /** How many servers there are. */
  get size(): number {
    return this.servers.length;
  }

  /** Whether losing one server leaves a majority (N = 1 and 2 do not). */
  get faultTolerant(): boolean {
    return this.servers.length - 1 >= this.majority;
  }

  /** The drift allowance taken off a lease of ttlMs. */
  driftMs(ttlMs: number): number {
    return Math.ceil(ttlMs * this.driftFraction) + this.driftMinMs;
  }

  /**
   * One attempt to take name for owner for ttlMs, not waiting for a holder.
   * Without waiterId only where nobody waits; with it, only where waiterId
   * is first in line (queued by enqueue()), and it leaves the queue when
   * granted. UnavailableError when fewer than a majority of servers answer.
   * beforeStep is awaited before each of its steps (a grant round with its
   * undo, a read) with the most rounds that step makes (stepRoundsMax), when
   * nothing of the attempt is in flight and nothing of it needs undoing: a
   * waiter renews its place there if those rounds could outlast it, as the
   * whole attempt, up to seven rounds, could. (A renewal between the read
   * and its grant round comes off that grant's validity, counted from
   * before the read.) When it answers false (the renewal found the lock
   * handed over to the waiter, so its place has ended) the attempt stops
   * there, not acquired and queued: the caller takes the handover, which a
   * further round, failing, would leave to a claim nobody takes.
   */
  async tryAcquire(
    name: string,
    owner: string,
    ttlMs: number,
    waiterId?: string,
    beforeStep?: (roundsMax: number) => Promise<boolean>,
  ): Promise<AcquireAttempt> {
    if (waiterId !== undefined) requireWaiterId(waiterId);
    const stopped: AcquireAttempt = { acquired: false, holder: undefined, queued: true };
    const knownFence = this.knownFences.get(name);
    if (knownFence !== undefined) {
      // One round instead of two when the last fence seen is still the highest (see "Known fences" above).
      if (beforeStep && !(await beforeStep(stepRoundsMax.grantRound))) return stopped;
      const guessed = await this.grantRound(name, owner, knownFence + 1n, ttlMs, waiterId, this.options.nowMs());
      if (!guessed.stale) return guessed.attempt;
    }
    if (beforeStep && !(await beforeStep(stepRoundsMax.read))) return stopped;
    const startMs = this.options.nowMs();
    const states = await this.everyServer((server, timeoutMs) => server.inspect(name, timeoutMs));
    const answered = states.filter(isDefined);
    this.requireMajority(answered.length, 'read the lock', states.problems);
    const token = this.tokenAfter(answered);
    this.noteFence(name, token - 1n);
    const open = answered.filter((state) => state.holder === undefined && !this.waitsBehind(state.queue, waiterId));
    if (open.length < this.majority) {
      const behind = answered.filter((state) => this.waitsBehind(state.queue, waiterId)).length;
      return { acquired: false, holder: newestHolder(answered), queued: this.outnumbers(behind) };
    }
    if (beforeStep && !(await beforeStep(stepRoundsMax.grantRound))) return stopped;
    return (await this.grantRound(name, owner, token, ttlMs, waiterId, startMs)).attempt;
  }

  /** Whether attempt is one this quorum made (its prefix): a grant round's or a claim's. */
  made(attempt: string): boolean {
    return attempt.startsWith(`${this.attemptPrefix}.`);
  }

  /**
   * Whether attempt is one of this quorum's recent attempts that it undid:
   * the undo's releases are published like any other, and are no news to a
   * waiter of this caller (waking on them, it would try again at once, and
   * again, while a holder's lease has run out on a minority only).
   */
  undid(attempt: string): boolean {
    return this.undoneAttempts.has(attempt);
  }

  private noteUndone(attempt: string): void {
    this.undoneAttempts.add(attempt);
    if (this.undoneAttempts.size > undoneAttemptsKept) {
      const oldest = this.undoneAttempts.values().next().value;
      if (oldest !== undefined) this.undoneAttempts.delete(oldest);
    }
  }

  /**
   * Tells the quorum a token granted for name (a release published it): the
   * next attempt for name tries the token after it without reading first.
   */
  noteFence(name: string, fence: bigint): void {
    raiseBounded(this.knownFences, name, fence, this.knownFencesMax);
  }

  /**
   * Asks every server to grant token (conditionally, see above) and keeps
   * the grant if a majority did within the validity counted from startMs;
   * else undoes it. Each call is an attempt of its own, with a new id.
   * stale: the attempt failed only because some fence was at or above
   * token, so a read would pick a better one.
   */
  private async grantRound(
    name: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    waiterId: string | undefined,
    startMs: number,
  ): Promise<{ attempt: AcquireAttempt; stale: boolean }> {
    const attempt = this.nextAttempt();
    const grants = await this.everyServer((server, timeoutMs) =>
      server.grant(name, owner, token, attempt, ttlMs, timeoutMs, waiterId),
    );
    const granted = grants.filter((grant) => grant?.outcome === 'granted').length;
    const validUntilMs = this.validUntilMs(startMs, ttlMs);
    if (granted >= this.majority && validUntilMs > this.options.nowMs()) {
      this.noteFence(name, token);
      if (waiterId !== undefined) this.leaveWhereNotGranted(name, waiterId, grants);
      return { attempt: { acquired: true, grant: { token, attempt, validUntilMs } }, stale: false };
    }
    for (const grant of grants) if (grant && grant.outcome !== 'granted') this.noteFence(name, grant.fence);
    if (grants.some((grant) => grant === undefined || grant.outcome === 'granted')) this.noteUndone(attempt);
    await this.undoGrant(name, owner, token, attempt, grants, waiterId);
    this.requireMajority(grants.filter(isDefined).length, 'take the lock', grants.problems);
    const holders = grants.flatMap((grant) => (grant?.outcome === 'held' ? [grant.holder] : []));
    const queued = grants.filter((grant) => grant?.outcome === 'queued').length;
    const stale = grants.some((grant) => grant?.outcome === 'stale') && holders.length === 0 && queued === 0;
    return {
      attempt: {
        acquired: false,
        holder: holders.length > 0 ? highestToken(holders) : undefined,
        queued: this.outnumbers(queued),
      },
      stale,
    };
  }

  /**
   * Queues waiterId for name with a lease of leaseMs. Without
   * options.ticket it takes a new one, after every earlier enqueue that
   * returned; with one (a lease renewal) it keeps that place, and queues it
   * again where it was dropped. With options.claim, a release may hand the
   * lock straight over to it (see "Handover" above); a renewal keeps the
   * claim's attempt. Handed when a renewal finds a majority handed it over
   * already. UnavailableError when fewer than a majority took it (a new
   * entry is then taken out again, as far as the servers answer).
   */
  async enqueue(
    name: string,
    waiterId: string,
    leaseMs: number,
    { ticket, claim }: { readonly ticket?: bigint; readonly claim?: WaiterClaim } = {},
  ): Promise<QueuePlace> {
    requireWaiterId(waiterId);
    requireWaiterLeaseMs(leaseMs);
    if (ticket !== undefined) requireTicket(ticket);
    const startMs = this.options.nowMs();
    const key = placeKey(name, waiterId);
    const kept = this.places.get(key)?.claim;
    const placeClaim =
      claim && kept && kept.owner === claim.owner && kept.ttlMs === claim.ttlMs
        ? kept
        : claim && { owner: claim.owner, ttlMs: claim.ttlMs, attempt: this.nextAttempt(), sinceMs: startMs };
    const joining = ticket === undefined;
    let taken = ticket ?? this.ticketGuess(name);
    let answers: (ServerEnqueued | undefined)[];
    let problems: readonly string[] = [];
    for (let round = 1; ; round++) {
      requireTicket(taken);
      const tried = taken;
      const joined = await this.everyServer((server, timeoutMs) =>
        server.enqueue(name, waiterId, tried, leaseMs, timeoutMs, { claim: placeClaim, join: joining }),
      );
      answers = joined;
      problems = joined.problems;
      const staleAt = answers.flatMap((answer, index) => (answer?.outcome === 'stale' ? [index] : []));
      // Joined everywhere that answered.
      if (staleAt.length === 0) break;
      const took = answers.filter((answer) => answer !== undefined && answer.outcome !== 'stale').length;
      if (took >= this.majority) {
        // Above the counters of a majority: that is the whole of a place (see "Fairness" above). The others take
        // the ticket as a renewal puts an entry back, so the queues agree at once.
        const placed = await this.everyServer(
          (server, timeoutMs) => server.enqueue(name, waiterId, tried, leaseMs, timeoutMs, { claim: placeClaim }),
          (index) => staleAt.includes(index),
        );
        answers = answers.map((answer, index) => (staleAt.includes(index) ? placed[index] : answer));
        problems = [...problems, ...placed.problems];
        break;
      }
      // Out of rounds: the ticket is a place nowhere that counts (a minority took it, or none did).
      if (round === joinRoundsMax) break;
      const highest = staleAt.reduce((high, index) => {
        const answer = answers[index];
        return answer?.outcome === 'stale' && answer.counter > high ? answer.counter : high;
      }, 0n);
      taken = this.ticketAbove(name, highest, retrySpread(round));
    }
    const answered = answers.filter(
      (answer): answer is ServerEnqueued => answer !== undefined && answer.outcome !== 'stale',
    );
    if (answered.length < this.majority && joining) {
      // An entry on a minority holds no place, but would keep others waiting there until its lease ends.
      await this.everyServer((server, timeoutMs) => server.leave(name, waiterId, timeoutMs, placeClaim?.attempt));
    }
    const stale = answers.filter((answer) => answer?.outcome === 'stale').length;
    if (answered.length < this.majority && answered.length + stale >= this.majority) {
      throw new AbortedError(
        `joins through other instances overtook this one's ticket on ${stale} of ${this.servers.length} lock ` +
          `servers in each of ${joinRoundsMax} rounds; try again`,
      );
    }
    this.requireMajority(answered.length, 'queue the waiter', problems);
    const place: Place = { ticket: taken, leaseMs, claim: placeClaim };
    this.remember(name, waiterId, place);
    const queued = answered.filter((answer) => answer.outcome === 'queued');
    return {
      ticket: place.ticket,
      first: queued.filter((answer) => answer.head === waiterId).length >= this.majority,
      free: queued.filter((answer) => !answer.held).length >= this.majority,
      claimAttempt: placeClaim?.attempt,
      handed: placeClaim && this.handedByRenewal(name, waiterId, placeClaim, answers),
    };
  }

  /**
   * The grant a majority of servers handed over to waiterId's claim under
   * token and attempt, as they told of it (handedBy: their ids), or
   * undefined when that is not a majority or not this waiter's current
   * claim. The waiter holds the lock until the grant's validUntilMs,
   * counted from when its claim was first sent. The servers that have not
   * told of it yet most likely will: once the caller has heard what it
   * waits to hear, leaveUnhanded takes the waiter out where they did not.
   */
  acceptHandover(
    name: string,
    waiterId: string,
    token: bigint,
    attempt: string,
    handedBy: ReadonlySet<string>,
  ): Grant | undefined {
    const key = placeKey(name, waiterId);
    const claim = this.places.get(key)?.claim;
    if (!claim || claim.attempt !== attempt) return undefined;
    const told = this.named(handedBy);
    if (this.servers.filter((_, index) => told(index)).length < this.majority) return undefined;
    return this.handedOver(name, waiterId, claim, token);
  }

  /**
   * Undoes a handover to waiterId's claim that a majority never made (or
   * to a claim of its it has retired): where the servers named handedBy
   * made it, queues the waiter again with its ticket (its place) under a
   * new claim attempt, and only then frees exactly that grant there,
   * without handing it on, as undoGrant does for a grant round. The claim
   * attempt the waiter holds from now on, or undefined when its place is
   * forgotten (the handover is then freed all the same).
   */
  async undoHandover(
    name: string,
    waiterId: string,
    owner: string,
    token: bigint,
    attempt: string,
    handedBy: ReadonlySet<string>,
  ): Promise<string | undefined> {
    const key = placeKey(name, waiterId);
    let place = this.places.get(key);
    if (place?.claim?.attempt === attempt) {
      // Queued under the undone attempt, the renewal there would answer handed instead of queueing it.
      place = { ...place, claim: { ...place.claim, attempt: this.nextAttempt(), sinceMs: this.options.nowMs() } };
      this.remember(name, waiterId, place);
    }
    const madeBy = this.named(handedBy);
    await this.requeueThenRelease(name, owner, token, attempt, madeBy, place?.claim && waiterId, place);
    return this.places.get(key)?.claim?.attempt;
  }

  /**
   * Frees, on the servers serverIds only, a handover to claimAttempt of a
   * waiter that has left (nobody will take it) and takes the waiter out of
   * the queue there; resolves once they answered or failed (a server that
   * fails keeps the handover until its TTL).
   */
  async freeStrayHandover(
    name: string,
    waiterId: string,
    claimAttempt: string,
    serverIds: ReadonlySet<string>,
  ): Promise<void> {
    await this.everyServer(
      (server, timeoutMs) => server.leave(name, waiterId, timeoutMs, claimAttempt),
      this.named(serverIds),
    );
  }

  /**
   * After a handover the waiter took: takes it out of the queue on the
   * servers that did not tell of handing over to it (handedBy), where its
   * entry would hold up the waiters behind it. Without the claim, so a
   * handover whose news was lost stays the waiter's. Resolves once they
   * answered or failed.
   */
  async leaveUnhanded(name: string, waiterId: string, handedBy: ReadonlySet<string>): Promise<void> {
    const told = this.named(handedBy);
    await this.everyServer(
      (server, timeoutMs) => server.leave(name, waiterId, timeoutMs),
      (index) => !told(index),
    );
  }

  private handedByRenewal(
    name: string,
    waiterId: string,
    claim: PlaceClaim,
    answers: readonly (ServerEnqueued | undefined)[],
  ): Grant | undefined {
    const tokens = answers.map((answer) => (answer?.outcome === 'handed' ? answer.token : undefined));
    for (const token of tokens) {
      if (token === undefined) continue;
      const handed = tokens.map((other) => other === token);
      if (handed.filter(Boolean).length < this.majority) continue;
      // Where the renewal queued the waiter, it was not handed over.
      void this.everyServer(
        (server, timeoutMs) => server.leave(name, waiterId, timeoutMs),
        (index) => answers[index]?.outcome === 'queued',
      );
      return this.handedOver(name, waiterId, claim, token);
    }
    return undefined;
  }

  private handedOver(name: string, waiterId: string, claim: PlaceClaim, token: bigint): Grant {
    this.places.delete(placeKey(name, waiterId));
    this.noteFence(name, token);
    return { token, attempt: claim.attempt, validUntilMs: this.handoverValidUntilMs(claim.sinceMs, claim.ttlMs) };
  }

  /**
   * Takes waiterId out of name's queue on every server, and frees the lock
   * where it was handed over to the waiter's claim (a handover it will not
   * take). UnavailableError when fewer than a majority answered.
   */
  async leave(name: string, waiterId: string): Promise<void> {
    requireWaiterId(waiterId);
    const key = placeKey(name, waiterId);
    const claimAttempt = this.places.get(key)?.claim?.attempt;
    this.places.delete(key);
    const left = await this.everyServer((server, timeoutMs) => server.leave(name, waiterId, timeoutMs, claimAttempt));
    this.requireMajority(left.filter(isDefined).length, 'leave the queue', left.problems);
  }

  /**
   * Extends owner's lease under token to ttlMs from now, and tells the
   * attempt that took it. FailedPreconditionError naming token when no
   * attempt under owner and token still holds it on a majority (its lease
   * ran out, or another holder took over).
   */
  async refresh(name: string, owner: string, token: bigint, ttlMs: number): Promise<Grant> {
    const startMs = this.options.nowMs();
    // Wrapped: a server that holds nothing for owner answers undefined, one that failed is undefined.
    const refreshed = await this.everyServer(async (server, timeoutMs) => ({
      attempt: await server.refresh(name, owner, token, ttlMs, timeoutMs),
    }));
    this.requireMajority(refreshed.filter(isDefined).length, 'refresh the lock', refreshed.problems);
    const validUntilMs = this.validUntilMs(startMs, ttlMs);
    const attempt = this.majorityAttempt(refreshed.map((answer) => answer?.attempt));
    if (attempt !== undefined && validUntilMs > this.options.nowMs()) return { token, attempt, validUntilMs };
    throw new FailedPreconditionError(
      'token',
      `owner ${JSON.stringify(owner)} no longer holds lock ${JSON.stringify(name)} under token ${token}`,
    );
  }

  /**
   * Frees name if owner holds it under token (and options.attempt, when
   * given: the Grant's), handing it over to the queue's head where the head
   * left a claim (see "Handover" above). With options.releaser (the grant
   * was this quorum's acceptHandover to that waiter and claim), servers
   * that have not handed it over yet never will. FailedPreconditionError
   * naming token when a majority did not hold it for owner (it is freed
   * wherever it still was, all the same).
   */
  async release(
    name: string,
    owner: string,
    token: bigint,
    options: Pick<ServerRelease, 'attempt' | 'releaser'> = {},
  ): Promise<void> {
    const known = this.knownFences.get(name) ?? 0n;
    const nextToken = (known > token ? known : token) + 1n;
    // Past the largest token no grant can follow: the release frees the lock without a handover.
    const handover = nextToken <= tokenMax ? { nextToken } : {};
    const released = await this.everyServer((server, timeoutMs) =>
      server.release(name, owner, token, timeoutMs, { ...options, ...handover }),
    );
    this.requireMajority(released.filter(isDefined).length, 'release the lock', released.problems);
    if (released.filter((done) => done === true).length >= this.majority) return;
    throw new FailedPreconditionError(
      'token',
      `owner ${JSON.stringify(owner)} does not hold lock ${JSON.stringify(name)} under token ${token}`,
    );
  }

  async inspect(name: string): Promise<LockView> {
    const states = await this.everyServer((server, timeoutMs) => server.inspect(name, timeoutMs));
    const answered = states.filter(isDefined);
    this.requireMajority(answered.length, 'read the lock', states.problems);
    const fence = answered.reduce((highest, state) => (state.fence > highest ? state.fence : highest), 0n);
    const waiters = answered.reduce((most, state) => Math.max(most, state.queue.length), 0);
    return {
      fence,
      holder: majorityHolder(answered, this.majority),
      waiters,
      answered: answered.length,
      unanswered: states.problems,
    };
  }

  /** A new attempt id: never used before by this quorum (see "Attempts" above). */
  private nextAttempt(): string {
    this.attempts += 1;
    return `${this.attemptPrefix}.${this.attempts}`;
  }

  /** More than half of count. */
  protected majorityOf(count: number): number {
    return Math.floor(count / 2) + 1;
  }

  /** One more than the highest fence the servers read report. */
  protected tokenAfter(states: readonly ServerLockState[]): bigint {
    return states.reduce((highest, state) => (state.fence > highest ? state.fence : highest), 0n) + 1n;
  }

  /** Whether another waiter is ahead of waiterId (of anyone, without one) in this queue: a grant there would be refused. */
  protected waitsBehind(queue: ServerQueue, waiterId: string | undefined): boolean {
    return queue.head !== undefined && queue.head !== waiterId;
  }

  /**
   * The ticket a join tries first: the wall clock in microseconds, which
   * joins on every instance pass without reading when clocks roughly agree,
   * or one above the last ticket seen for name when that is higher.
   */
  protected ticketGuess(name: string): bigint {
    return this.ticketAbove(name, BigInt(Math.floor(this.wallClockMs() * 1_000)), 0);
  }

  /**
   * A ticket above floor and above every ticket this quorum tried for name,
   * at most spread above that, at random: joins of one instance never try
   * one ticket twice, and two joins that collided (each not above the
   * counters of a majority) rarely collide again.
   */
  private ticketAbove(name: string, floor: bigint, spread: number): bigint {
    const last = this.knownTickets.get(name) ?? 0n;
    const above = last > floor ? last : floor;
    const ticket = above + 1n + BigInt(Math.floor(this.random() * spread));
    raiseBounded(this.knownTickets, name, ticket, this.knownFencesMax);
    return ticket;
  }

  /** The end of a lease of ttlMs taken or extended by calls that began at startMs, on this caller's clock. */
  protected validUntilMs(startMs: number, ttlMs: number): number {
    return startMs + ttlMs - this.driftMs(ttlMs);
  }

  /** The end of a lease of ttlMs handed over to a claim first sent at sinceMs (see "Handover" above). */
  protected handoverValidUntilMs(sinceMs: number, ttlMs: number): number {
    return this.validUntilMs(sinceMs, ttlMs);
  }

  /**
   * Undoes a grant attempt where it may have been applied: where it was
   * granted, or its answer never came (a timed-out grant may have been
   * applied); the fences stay raised. It frees exactly this attempt's
   * holder (see "Attempts" above). A waiter is queued again with its
   * ticket there first, since the grant may have taken it out, so nobody
   * behind it is granted in between.
   */
  protected async undoGrant(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    grants: readonly (ServerGrant | undefined)[],
    waiterId: string | undefined,
  ): Promise<void> {
    const place = waiterId === undefined ? undefined : this.places.get(placeKey(name, waiterId));
    const mayHold = (index: number) => grants[index] === undefined || grants[index]?.outcome === 'granted';
    await this.requeueThenRelease(name, owner, token, attempt, mayHold, waiterId, place);
  }

  /**
   * Frees exactly the grant of token and attempt where it may hold, after
   * queueing its waiter (if it had a place) there again with its ticket, so
   * nobody behind the waiter gets in between. Where that re-enqueue fails
   * the release is skipped: the grant's own lease keeps the waiter's place
   * until its renewal puts it back.
   */
  private async requeueThenRelease(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    mayHold: (index: number) => boolean,
    waiterId: string | undefined,
    place: Place | undefined,
  ): Promise<void> {
    let requeued: readonly (ServerEnqueued | undefined)[] | undefined;
    if (waiterId !== undefined && place) {
      requeued = await this.everyServer(
        (server, timeoutMs) =>
          server.enqueue(name, waiterId, place.ticket, place.leaseMs, timeoutMs, { claim: place.claim }),
        mayHold,
      );
    }
    const releasable = (index: number) => mayHold(index) && (!requeued || requeued[index] !== undefined);
    await this.releaseExactly(name, owner, token, attempt, releasable);
  }

  /**
   * Frees exactly the grant of token and attempt on the servers only()
   * names. A server that did not answer may not have applied it, and the
   * grant would keep that server from everyone else until its TTL: it is
   * asked again, twice at most, without the caller waiting for it (the
   * release is exact, so a late or repeated one frees nothing else).
   */
  private async releaseExactly(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    only: (index: number) => boolean,
  ): Promise<void> {
    const release = (to: (index: number) => boolean) =>
      this.everyServer((server, timeoutMs) => server.release(name, owner, token, timeoutMs, { attempt }), to);
    const first = await release(only);
    let unanswered = this.servers.flatMap((_, index) => (only(index) && first[index] === undefined ? [index] : []));
    void (async () => {
      for (let retry = 1; retry <= undoRetriesMax && unanswered.length > 0; retry++) {
        const again = await release((index) => unanswered.includes(index));
        unanswered = unanswered.filter((index) => again[index] === undefined);
      }
    })();
  }

  /** After a grant, the waiter's entries where it was not granted would only hold up the waiters behind it. */
  private leaveWhereNotGranted(name: string, waiterId: string, grants: readonly (ServerGrant | undefined)[]): void {
    this.places.delete(placeKey(name, waiterId));
    // Not awaited: the grant is the caller's now, and an entry left behind lapses with its lease.
    void this.everyServer(
      (server, timeoutMs) => server.leave(name, waiterId, timeoutMs),
      (index) => grants[index]?.outcome !== 'granted',
    );
  }

  private remember(name: string, waiterId: string, place: Place): void {
    setBounded(this.places, placeKey(name, waiterId), place, this.placesMax);
  }

  /** The attempt that a majority of servers reported (refreshed), if any. */
  private majorityAttempt(attempts: readonly (string | undefined)[]): string | undefined {
    const counts = new Map<string, number>();
    for (const attempt of attempts) {
      if (attempt === undefined) continue;
      const count = (counts.get(attempt) ?? 0) + 1;
      if (count >= this.majority) return attempt;
      counts.set(attempt, count);
    }
    return undefined;
  }

  /** Whether count servers are too many for the rest to make a majority. */
  private outnumbers(count: number): boolean {
    return count > this.servers.length - this.majority;
  }

  /**
   * Calls every server at once (or those where only(index)); a server that
   * fails, times out or is not called answers undefined.
   */
  private everyServer<T>(
    call: (server: LockServer, timeoutMs: number) => Promise<T>,
    only: (index: number) => boolean = () => true,
  ): Promise<ServerAnswers<T>> {
    const { callTimeoutMs } = this.options;
    // In server order, so one outage always reads the same; made only when a server fails (the hot path has none).
    let problems: Array<string | undefined> | undefined;
    return Promise.all(
      this.servers.map((server, index) =>
        only(index)
          ? call(server, callTimeoutMs).catch((error: unknown) => {
              (problems ??= [])[index] = problemOf(server, error);
              return undefined;
            })
          : Promise.resolve(undefined),
      ),
    ).then((answers) => Object.assign(answers, { problems: problems?.filter(isDefined) ?? noProblems }));
  }

  /** Whether the server at index is one of ids: which servers everyServer calls, by their ids. */
  private named(ids: ReadonlySet<string>): (index: number) => boolean {
    return (index) => ids.has((this.servers[index] as LockServer).id);
  }

  /** UNAVAILABLE unless a majority answered, naming why the others did not (ServerAnswers.problems). */
  private requireMajority(answered: number, doing: string, problems: readonly string[]): void {
    if (answered >= this.majority) return;
    throw new UnavailableError(
      `only ${answered} of ${this.servers.length} lock servers answered; ${this.majority} are needed to ${doing}` +
        (problems.length > 0 ? ` (${problems.join('; ')})` : ''),
    );
  }
}

/**
 * Raises name's value in a map that only grows per name, keeping at most
 * max names: the least recently raised is forgotten first.
 */
function raiseBounded(values: Map<string, bigint>, name: string, value: bigint, max: number): void {
  const known = values.get(name);
  if (known === undefined || known < value) setBounded(values, name, value, max);
}

function placeKey(name: string, waiterId: string): string {
  return `${name}\u0000${waiterId}`;
}

/** Why a server did not answer, naming it (its errors usually do already). */
function problemOf(server: LockServer, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const named = message.includes(server.id) ? message : `lock server ${server.id}: ${message}`;
  return named.length > problemLengthMax ? `${named.slice(0, problemLengthMax - 3)}...` : named;
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

function highestToken(holders: readonly ServerHolder[]): ServerHolder {
  return holders.reduce((best, holder) => (holder.token > best.token ? holder : best));
}

function newestHolder(states: readonly ServerLockState[]): ServerHolder | undefined {
  const holders = states.flatMap((state) => (state.holder ? [state.holder] : []));
  return holders.length > 0 ? highestToken(holders) : undefined;
}

/** The holder at least a majority report, under the same owner, token and attempt; the least remaining TTL among them. */
function majorityHolder(states: readonly ServerLockState[], majority: number): ServerHolder | undefined {
  const byGrant = new Map<string, ServerHolder[]>();
  for (const { holder } of states) {
    if (!holder) continue;
    const key = `${holder.token}\u0000${holder.attempt}\u0000${holder.owner}`;
    const same = byGrant.get(key);
    if (same) same.push(holder);
    else byGrant.set(key, [holder]);
  }
  for (const holders of byGrant.values()) {
    if (holders.length < majority) continue;
    return holders.reduce((least, holder) => (holder.remainingTtlMs < least.remainingTtlMs ? holder : least));
  }
  return undefined;
}

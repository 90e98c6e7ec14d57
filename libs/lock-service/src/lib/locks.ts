// What one lock-service instance does with lock.v1 calls, over a LockQuorum
// of backend servers: grants, waits in the backends' queue, refreshes,
// releases and reads. No gRPC here (lock-service.ts maps calls onto it).
//
// An Acquire that cannot be granted at once joins the lock's queue (kept on
// a majority of the servers, see lock-core) with a claim, so that a release
// hands the lock straight over to it when it is first in line: it holds the
// lock once a majority of servers told of that (pub/sub), or a renewal of
// its place found it so. Otherwise it tries again only when it may succeed:
// when an event says the lock may be free (a release, a departure from the
// queue, an expiry; pub/sub on every server), when the holder's lease is
// due to run out, and at every renewal of its place in the queue (a third
// of the place's lease), which also bounds how long a lost event can delay
// it. Renewals go between the wait's steps, and before any step that could
// outlast the place (waiter-place.ts).
import { FailedPreconditionError, ResourceExhaustedError } from '@bulwark/errors';
import {
  setBounded,
  stepRoundsMax,
  type Grant,
  type LockQuorum,
  type LockView,
  type ServerHolder,
  type ServerReleaser,
} from '@bulwark/lock-core';
import type { HandedTo, LockEventSource } from '@bulwark/lock-redis';
import type { Logger } from '@bulwark/logging';
import { WaiterPlace } from './waiter-place';
import { Waiter, WaitingRoom, type HeardHandover } from './waiting-room';

export interface LocksOptions {
  readonly quorum: LockQuorum;
  readonly events: LockEventSource;
  readonly logger: Logger;
  /** Unique to this process (member id and a boot nonce): waiter ids start with it. */
  readonly instanceId: string;
  /** How long the backends keep a waiter's place without a renewal (a crashed instance's waiters leave after it). */
  readonly waiterLeaseMs?: number;
  /** Monotonic clock, ms. */
  readonly nowMs?: () => number;
  /** Told when a waiting Acquire has its place in the queue (for metrics and tests). */
  readonly onQueued?: (name: string, waiterId: string, ticket: bigint) => void;
  /** Calls that may wait here at once (waitersMaxDefault); one more is refused, RESOURCE_EXHAUSTED. */
  readonly waitersMax?: number;
}

/**
 * Calls that may wait on one instance at once: fewer than the places its
 * quorum remembers (defaultPlacesMax), so a waiter's place, which its
 * handovers and its leaving need, is never forgotten while it waits.
 */
export const waitersMaxDefault = 8_192;

/** A grant, valid on this instance's clock until validUntilMs. */
export type AcquireResult =
  | { readonly acquired: true; readonly grant: Grant }
  | { readonly acquired: false; readonly holder: ServerHolder | undefined };

export interface AcquireRequest {
  readonly name: string;
  readonly owner: string;
  readonly ttlMs: number;
  /** How long to wait for the lock; 0 tries once. */
  readonly waitTimeoutMs: number;
}

export const defaultWaiterLeaseMs = 3_000;
/** How long a waiter that took a handover keeps hearing of it from the servers that had not told yet. */
const handoverNewsMs = 100;
/** After an attempt lost to a concurrent one (no holder, nobody queued first), the next comes this soon. */
const contendedRetryMsMax = 10;
/** Grants answered and not released yet that are remembered for their release; the oldest is forgotten past this. */
const answeredGrantsMax = 10_000;
/** Claims of waiters that have left, remembered to free late handovers to them; the oldest is forgotten past this. */
const retiredClaimsMax = 10_000;

/** Names and owners may hold any character, so the key is their JSON, not a join on a separator. */
const grantKey = (name: string, owner: string, token: bigint) => JSON.stringify([name, owner, token.toString()]);

export class Locks {
  private readonly room: WaitingRoom;
  private readonly nowMs: () => number;
  private readonly waiterLeaseMs: number;
  private waiterCount = 0;
  /** Acquire calls waiting here now. */
  private waitingNow = 0;
  private readonly waitersMax: number;
  /** Departures from queues still under way: stopping waits for them before the backend closes. */
  private readonly cleanups = new Set<Promise<void>>();
  /**
   * The grants answered here, by name, owner and token: their release is
   * exact (a release by owner and token alone also frees another attempt's
   * grant under them, such as a handover to a waiter of the same owner
   * still to be undone, which would cost that waiter its place) and
   * vouched for (the releaser: a lock already free on a server that missed
   * a turn is handed over there too), and a waiter's names its waiter and
   * claim, so that a server that has not granted it the lock never hands
   * it over afterwards (lock-quorum.ts, "Handover").
   */
  private readonly answeredGrants = new Map<string, { attempt: string; releaser: ServerReleaser }>();
  /**
   * The claims of waiters that have left, by attempt: a handover to one of
   * them (a server their leave or their holder's release never reached,
   * later handing the lock to the entry left there) has nobody to take it
   * and would hold that server until its TTL, so it is freed at once. The
   * handover a waiter took is not a stray under its own token.
   */
  private readonly retiredClaims = new Map<string, { name: string; waiterId: string; taken: bigint | undefined }>();

  constructor(private readonly options: LocksOptions) {
    this.room = new WaitingRoom(options.events, options.logger, {
      onReleased: (name, token) => options.quorum.noteFence(name, token),
      // Releases of this instance's own undone attempts wake nobody here: they are no news, and waking on them
      // would make the head try again at once, and again, while a lease has run out on a minority only.
      ownUndo: (attempt) => options.quorum.undid(attempt),
      ownClaim: (attempt) => options.quorum.made(attempt),
      retired: (name, waiter) => this.retire(name, waiter),
      strayHandover: (name, serverId, handedTo) => this.freeStray(name, serverId, handedTo),
    });
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.waiterLeaseMs = options.waiterLeaseMs ?? defaultWaiterLeaseMs;
    this.waitersMax = options.waitersMax ?? waitersMaxDefault;
  }

  get quorum(): LockQuorum {
    return this.options.quorum;
  }

  get events(): LockEventSource {
    return this.options.events;
  }

  /** Acquire calls waiting on this instance. */
  get waiting(): number {
    return this.room.size;
  }

  /** The most Acquire calls waiting on this instance for one lock. */
  get longestQueue(): number {
    return this.room.longestQueue;
  }

  /**
   * Takes the lock, waiting up to waitTimeoutMs in the lock's queue. When
   * signal aborts (the call's deadline or cancellation) the wait ends, and a
   * grant that completes after it is released, not returned.
   */
  async acquire(request: AcquireRequest, signal: AbortSignal): Promise<AcquireResult> {
    const { name, owner, ttlMs } = request;
    const deadlineMs = this.nowMs() + request.waitTimeoutMs;
    // With callers of this instance in the lock's queue already, a try outside the queue would be refused: it
    // would only cost a round. It is the servers, not this shortcut, that keep anyone from passing a waiter.
    const contended = request.waitTimeoutMs > 0 && this.room.has(name);
    const first = contended ? undefined : await this.attempt(name, owner, ttlMs, undefined, signal);
    if (first?.acquired) this.remember(name, owner, first.grant, {});
    if (first?.acquired || request.waitTimeoutMs === 0 || signal.aborted) {
      return first ?? { acquired: false, holder: undefined };
    }

    if (this.waitingNow >= this.waitersMax) {
      throw new ResourceExhaustedError(
        'waiters',
        `${this.waitingNow} calls wait for locks on this instance, its limit; retry later, on another instance, or without waiting`,
      );
    }
    this.waitingNow += 1;
    this.waiterCount += 1;
    const waiter = new Waiter(`${this.options.instanceId}/${this.waiterCount}`, this.nowMs);
    const claim = { owner, ttlMs };
    /** Who told of the handover the waiter took, while the others' news may still come. */
    let handedBy: Set<string> | undefined;
    // Watching before joining the queue: a release after joining wakes this waiter.
    await this.room.enter(name, waiter);
    try {
      const place = new WaiterPlace({
        quorum: this.quorum,
        name,
        waiterId: waiter.id,
        leaseMs: this.waiterLeaseMs,
        claim,
        nowMs: this.nowMs,
        onClaim: (claimAttempt) => this.room.claim(name, waiter, claimAttempt),
      });
      const joined = await place.join();
      waiter.ticket = joined.ticket;
      this.options.onQueued?.(name, waiter.id, joined.ticket);
      let holder = first?.holder;
      // A wake-up that came while joining means the lock may have been freed since the servers answered.
      const wokenWhileJoining = waiter.takeWake();
      let attemptNow = (joined.first && joined.free) || wokenWhileJoining;
      let retryAtMs = holder ? this.nowMs() + holder.remainingTtlMs + 1 : Infinity;
      for (;;) {
        // A join that had to try a second ticket, or a renewal, may find the lock handed over already (its news lost).
        const handedByEnqueue = place.takeHandover();
        const handed = handedByEnqueue
          ? { grant: handedByEnqueue, servers: undefined }
          : this.handedOver(name, owner, waiter);
        // A handover short of a majority for a round's time will not be completed: free it, and queue again there.
        // Never one being taken: freeing part of it would leave the waiter holding a minority.
        if (!handed && (await this.undoStalledHandovers(name, owner, waiter, place))) place.renewAtMs = this.nowMs();
        if (handed) {
          const releaser = { waiterId: waiter.id, claimAttempt: handed.grant.attempt };
          const grant = await this.usable(name, owner, ttlMs, handed.grant, releaser, signal);
          if (grant) {
            waiter.granted = true;
            handedBy = handed.servers;
            waiter.taken = { token: grant.token, attempt: grant.attempt };
            this.remember(name, owner, grant, releaser);
            return { acquired: true, grant };
          }
          // Spent, and the servers did not extend it: back in line at the same place, with a new claim.
          place.renewAtMs = this.nowMs();
        }
        if (attemptNow && !place.handedOver) {
          const result = await this.attempt(name, owner, ttlMs, waiter.id, signal, (roundsMax) =>
            place.keepThrough(roundsMax),
          );
          if (result.acquired) {
            waiter.granted = true;
            this.remember(name, owner, result.grant, { waiterId: waiter.id, claimAttempt: waiter.claimAttempt });
            return result;
          }
          holder = result.holder ?? holder;
          retryAtMs = result.retryAtMs;
        }
        // A renewal made for a step found the lock handed over: take it now.
        if (place.handedOver) continue;
        const nowMs = this.nowMs();
        if (nowMs >= deadlineMs) return { acquired: false, holder };
        const wakeAtMs = Math.min(deadlineMs, place.renewAtMs, retryAtMs, this.handoverDueMs(waiter));
        const woke = await waiter.next(wakeAtMs - nowMs, signal);
        if (woke === 'aborted') return { acquired: false, holder };
        const retryDue = this.nowMs() >= retryAtMs;
        attemptNow = woke === 'woken' || retryDue;
        // Kept until it fires: a renewal or an event before the holder's expiry must not make the waiter forget it.
        if (retryDue) retryAtMs = Infinity;
        if (this.nowMs() >= place.renewAtMs) {
          const renewed = await place.renew();
          attemptNow ||= renewed.first && renewed.free;
        }
      }
    } finally {
      this.waitingNow -= 1;
      if (handedBy) this.leaveUnhanded(name, waiter, handedBy);
      else this.room.leave(name, waiter);
      if (!waiter.granted) {
        this.inBackground(
          this.quorum.leave(name, waiter.id).catch((error: unknown) => {
            // Its place lapses with its lease; until then it may hold up the queue.
            this.options.logger.warn({ err: error, lock: name }, 'cannot leave the lock queue');
          }),
        );
      }
    }
  }

  /**
   * The grant a majority of servers told waiter they handed over to its
   * claim, if they did, and who told. Handovers of the same claim under
   * other tokens (a release on a minority only) are freed: nobody else
   * would ever free them before their TTL.
   */
  private handedOver(name: string, owner: string, waiter: Waiter): { grant: Grant; servers: Set<string> } | undefined {
    for (const handover of waiter.handovers.values()) {
      const { token, attempt, servers } = handover;
      if (servers.size < this.quorum.majority) continue;
      const grant = this.quorum.acceptHandover(name, waiter.id, token, attempt, servers);
      if (!grant) {
        // To a claim the waiter has since replaced (it undid a minority handover meanwhile): nobody will take this
        // one, and a majority holds it, so it is freed, or the lock would sit unheld until the claim's TTL.
        waiter.forgetHandover(handover);
        void this.quorum.undoHandover(name, waiter.id, owner, token, attempt, servers);
        continue;
      }
      for (const other of waiter.handovers.values()) {
        if (other === handover) continue;
        // Its place is gone: this only frees them.
        void this.quorum.undoHandover(name, waiter.id, owner, other.token, other.attempt, other.servers);
        waiter.forgetHandover(other);
      }
      // Kept: the servers yet to tell of it join servers as they do.
      return { grant, servers };
    }
    return undefined;
  }

  /**
   * Undoes the handovers to waiter's claims that will not be taken: those
   * to a claim it has retired, and those that stayed short of a majority
   * for a call's time. Whether there were any. It stops when a renewal of
   * place made for an undo finds the lock handed over: that is to be
   * taken, and may be one of these, heard of from a minority only.
   */
  private async undoStalledHandovers(
    name: string,
    owner: string,
    waiter: Waiter,
    place: WaiterPlace,
  ): Promise<boolean> {
    let undone = false;
    for (const handover of [...waiter.handovers.values()]) {
      const { token, attempt, servers } = handover;
      if (attempt === waiter.claimAttempt && this.nowMs() < this.undoDueMs(handover)) continue;
      if (!(await place.keepThrough(stepRoundsMax.undoHandover))) break;
      waiter.forgetHandover(handover);
      const claimAttempt = await this.quorum.undoHandover(name, waiter.id, owner, token, attempt, servers);
      if (claimAttempt !== undefined) this.room.claim(name, waiter, claimAttempt);
      undone = true;
    }
    return undone;
  }

  /** When the first handover short of a majority is due to be undone (Infinity when none is). */
  private handoverDueMs(waiter: Waiter): number {
    return Math.min(Infinity, ...[...waiter.handovers.values()].map((handover) => this.undoDueMs(handover)));
  }

  /** A handover still short of a majority a call's time after its first news will not be completed. */
  private undoDueMs({ servers, heardAtMs }: HeardHandover): number {
    return servers.size < this.quorum.majority ? heardAtMs + this.quorum.callTimeoutMs : Infinity;
  }

  /**
   * After a handover: the servers that have not told of it yet almost
   * always do within moments, and a leave sent to them would be a round
   * for nothing. So the waiter keeps hearing until every server told, or
   * for handoverNewsMs, and then leaves the queue only where none did.
   */
  private leaveUnhanded(name: string, waiter: Waiter, handedBy: Set<string>): void {
    waiter.done = true;
    // Stopping waits for the hearing out too, and for the leaves and frees it ends with.
    let heardOut = () => {};
    this.inBackground(new Promise<void>((resolve) => (heardOut = resolve)));
    const finish = () => {
      clearTimeout(timer);
      waiter.onNews = undefined;
      this.room.leave(name, waiter);
      this.inBackground(this.quorum.leaveUnhanded(name, waiter.id, handedBy));
      heardOut();
    };
    const timer = setTimeout(finish, handoverNewsMs);
    waiter.onNews = () => {
      if (handedBy.size >= this.quorum.size) finish();
    };
    waiter.onNews();
  }

  /**
   * A handed-over grant to answer with: as it is while half its TTL is left
   * (its validity counts from the claim's first enqueue, so a long wait
   * spent some of it), else refreshed first. Undefined, after releasing it,
   * when the caller has gone or the refresh did not leave it valid.
   */
  private async usable(
    name: string,
    owner: string,
    ttlMs: number,
    handed: Grant,
    releaser: ServerReleaser,
    signal: AbortSignal,
  ): Promise<Grant | undefined> {
    let grant: Grant | undefined = handed;
    if (!signal.aborted && grant.validUntilMs - this.nowMs() < ttlMs / 2) {
      grant = await this.quorum.refresh(name, owner, handed.token, ttlMs).catch(() => undefined);
      if (grant && grant.attempt !== handed.attempt) grant = undefined;
    }
    if (grant && grant.validUntilMs - this.nowMs() >= 1 && !signal.aborted) return grant;
    await this.quorum.release(name, owner, handed.token, { attempt: handed.attempt, releaser }).catch(() => undefined);
    return undefined;
  }

  private retire(name: string, waiter: Waiter): void {
    for (const attempt of waiter.claimAttempts) {
      const taken = waiter.taken?.attempt === attempt ? waiter.taken.token : undefined;
      setBounded(this.retiredClaims, attempt, { name, waiterId: waiter.id, taken }, retiredClaimsMax);
    }
    // A handover to any other claim, when the wait ended before its loop freed it (it failed, timed out, or was
    // granted by a round): nobody will take it. On every server, not only those heard from: news can be lost, or
    // come after the room stopped listening. Never under the claim it took: a leave frees by claim. Nor under the
    // current claim of a waiter without the lock: its leave of the queue frees that one.
    for (const attempt of waiter.claimAttempts) {
      if (attempt === waiter.taken?.attempt || (!waiter.granted && attempt === waiter.claimAttempt)) continue;
      this.inBackground(this.quorum.freeStrayHandover(name, waiter.id, attempt, this.quorum.serverIds));
    }
  }

  /** Runs work on after the call that started it; stopping waits for it (settle). */
  private inBackground(work: Promise<void>): void {
    this.cleanups.add(work);
    void work.finally(() => this.cleanups.delete(work));
  }

  /** Frees a handover to a retired claim on the server that made it; whether the claim was retired. */
  private freeStray(name: string, serverId: string, { token, attempt }: HandedTo): boolean {
    const retired = this.retiredClaims.get(attempt);
    if (!retired || retired.name !== name) return false;
    // Late news of the handover its waiter took: that grant is its holder's, freed by its release.
    if (retired.taken === token) return true;
    this.inBackground(this.quorum.freeStrayHandover(name, retired.waiterId, attempt, new Set([serverId])));
    return true;
  }

  private remember(name: string, owner: string, grant: Grant, releaser: ServerReleaser): void {
    setBounded(
      this.answeredGrants,
      grantKey(name, owner, grant.token),
      { attempt: grant.attempt, releaser },
      answeredGrantsMax,
    );
  }

  /** Resolves once every departure from a queue still under way has ended. */
  async settle(): Promise<void> {
    // Until none is left: ending one (a waiter heard out) can start others (its leave, its frees).
    while (this.cleanups.size > 0) await Promise.all([...this.cleanups]);
  }

  /** Extends owner's lease under token by ttlMs from now. */
  async refresh(name: string, owner: string, token: bigint, ttlMs: number): Promise<Grant> {
    const grant = await this.quorum.refresh(name, owner, token, ttlMs);
    if (grant.validUntilMs - this.nowMs() >= 1) return grant;
    // The servers did extend the lease: nobody may use it, so it must not be left to its TTL.
    await this.quorum.release(name, owner, token, { attempt: grant.attempt }).catch(() => undefined);
    throw new FailedPreconditionError(
      'ttl_ms',
      `the refreshed lease of lock ${JSON.stringify(name)} was spent before the refresh completed`,
    );
  }

  /**
   * Frees owner's grant under token: exactly the one with attempt leaseId
   * when given, else the one this instance answered under them if any,
   * else whichever grant owner holds under token.
   */
  release(name: string, owner: string, token: bigint, leaseId?: string): Promise<void> {
    const key = grantKey(name, owner, token);
    const answered = this.answeredGrants.get(key);
    // A lease id of another grant is not this one's release: the one answered here stays remembered.
    const ours = answered !== undefined && (leaseId === undefined || leaseId === answered.attempt);
    if (ours) this.answeredGrants.delete(key);
    const attempt = leaseId ?? answered?.attempt;
    return this.quorum.release(name, owner, token, { attempt, releaser: ours ? answered.releaser : undefined });
  }

  inspect(name: string): Promise<LockView> {
    return this.quorum.inspect(name);
  }

  /**
   * One grant attempt (beforeStep: see LockQuorum.tryAcquire). A grant
   * whose validity is spent by now, or whose caller has gone, is released
   * rather than returned.
   */
  private async attempt(
    name: string,
    owner: string,
    ttlMs: number,
    waiterId: string | undefined,
    signal: AbortSignal,
    beforeStep?: (roundsMax: number) => Promise<boolean>,
  ): Promise<AcquireResult & { retryAtMs: number }> {
    const attempt = await this.quorum.tryAcquire(name, owner, ttlMs, waiterId, beforeStep);
    const nowMs = this.nowMs();
    if (!attempt.acquired) {
      const { holder } = attempt;
      // A holder's lease runs out at a known time; nobody held and nobody first means a concurrent grant won.
      const retryAtMs = holder
        ? nowMs + holder.remainingTtlMs + 1
        : attempt.queued
          ? Infinity
          : nowMs + 1 + Math.random() * contendedRetryMsMax;
      return { acquired: false, holder, retryAtMs };
    }
    const { grant } = attempt;
    if (grant.validUntilMs - nowMs >= 1 && !signal.aborted) return { acquired: true, grant, retryAtMs: Infinity };
    await this.quorum.release(name, owner, grant.token, { attempt: grant.attempt }).catch(() => undefined);
    return { acquired: false, holder: undefined, retryAtMs: nowMs };
  }
}

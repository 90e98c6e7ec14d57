// A waiting Acquire's place in a lock's queue (lock-core: a ticket with a
// lease on each server), and its renewals. They are sent one at a time, in
// turn with the waiter's other quorum calls, never while one is in flight: a
// renewal sent while the waiter's own grant round is out queues it again,
// with its claim, where that round has just granted it, and a release then
// hands the lock to a claim nobody takes (cdafc0c, reverted in 7b5b059).
// So renewals are made only between the wait loop's steps, and often enough
// that no step outlasts the place, whatever a hung server costs each round.
//
// The bound. T is the call timeout (one round: calls to every server at
// once, each given up after T), L the place's lease, m a margin (a
// twentieth of L) for servers' clocks running fast and timers firing late.
// lock-core's placeLastsThrough applies the check below.
// - A renewal sent at s is applied by a server that answers in time
//   between s and s + T, and the place there lasts from then on for L, so
//   until s + L at least. A renewal sent at s' keeps it unbroken if it is
//   applied by then: s' + T <= s + L - m.
// - The wait renews every L/3 while nothing else goes on, and before each
//   step of up to k rounds (k T at most) whenever the place might not last
//   through it: when (now - s) + k T + T + m > L. Left out, the next
//   renewal goes after the step (or before the next step, by its own
//   check), k T later at most: by s + L - T - m.
// - Made, the step begins at most T after it was sent, and the renewal
//   after the step is sent at most (k + 1) T after it, which must be in
//   time as well: (k + 2) T + m <= L.
// Every step is at most k = 3 rounds (lock-core's stepRoundsMax: a grant
// round with its undo, a read, a handover's undo; an attempt, up to seven
// rounds, is renewed between its steps). So the longest gap between two
// renewals' sends is L - T - m, and it takes L >= 5 T + m, i.e.
// L >= 5 T / 0.95 (about 5.3 T); apps/lock requires 6 T. At the defaults
// (L = 3 s, T = 500 ms) renewals are sent at most 2.35 s apart, and each is
// applied within 2.85 s of when the one before was sent.
//
// Using a handover (refreshing it, or releasing it when it is spent) is no
// step of the place's: the waiter holds the lock on a majority, which is
// what the place was for, and the quorum has forgotten the place. A
// renewal then would queue the waiter again, behind its own grant.
import { placeLastsThrough, type Grant, type LockQuorum, type QueuePlace, type WaiterClaim } from '@bulwark/lock-core';

export interface WaiterPlaceOptions {
  readonly quorum: LockQuorum;
  readonly name: string;
  readonly waiterId: string;
  readonly leaseMs: number;
  readonly claim: WaiterClaim;
  /** Monotonic clock, ms. */
  readonly nowMs: () => number;
  /** Told the claim attempt a release hands the lock over under, after every enqueue. */
  readonly onClaim: (claimAttempt: string) => void;
}

export class WaiterPlace {
  /** When the join or the last renewal was sent: the place's lease on any server starts no earlier. */
  private sentAtMs = -Infinity;
  private ticket: bigint | undefined;
  /** A handover an enqueue found, until the wait loop takes it. */
  private handed: Grant | undefined;
  /** When the next renewal is due, whatever the steps need. */
  renewAtMs = Infinity;

  constructor(private readonly options: WaiterPlaceOptions) {}

  /** Joins the queue, under a ticket of its own. */
  async join(): Promise<QueuePlace> {
    return this.enqueue(undefined);
  }

  /** Renews the place: the same ticket, the same claim. */
  async renew(): Promise<QueuePlace> {
    return this.enqueue(this.ticket);
  }

  /**
   * Renews first if a step of up to roundsMax rounds could outlast the
   * place (see the bound above). False, for the step not to be taken, once
   * an enqueue found the lock handed over: that ended the place, and the
   * wait loop must take the handover before anything else can fail.
   */
  async keepThrough(roundsMax: number): Promise<boolean> {
    if (!this.handed && !this.lastsThrough(roundsMax)) await this.renew();
    return !this.handed;
  }

  /** Whether a renewal sent after roundsMax more rounds would still find the place on every server that answers. */
  private lastsThrough(roundsMax: number): boolean {
    const { leaseMs, quorum, nowMs } = this.options;
    return placeLastsThrough(nowMs() - this.sentAtMs, roundsMax, quorum.callTimeoutMs, leaseMs);
  }

  /** Whether an enqueue found the lock handed over, and the wait loop has yet to take it. */
  get handedOver(): boolean {
    return this.handed !== undefined;
  }

  /** The handover an enqueue found, if one did; the wait loop takes it once. */
  takeHandover(): Grant | undefined {
    const handed = this.handed;
    this.handed = undefined;
    return handed;
  }

  private async enqueue(ticket: bigint | undefined): Promise<QueuePlace> {
    const { quorum, name, waiterId, leaseMs, claim, nowMs, onClaim } = this.options;
    this.sentAtMs = nowMs();
    this.renewAtMs = this.sentAtMs + leaseMs / 3;
    const place = await quorum.enqueue(name, waiterId, leaseMs, { ...(ticket === undefined ? {} : { ticket }), claim });
    this.ticket = place.ticket;
    if (place.claimAttempt !== undefined) onClaim(place.claimAttempt);
    this.handed = place.handed;
    return place;
  }
}

// A waiting Acquire's place in the lock's queue, renewed on a timer of its
// own: a third of the place's lease after the last renewal began, or as
// soon as the last one came back if it took longer, never two at once. Not
// by the wait loop, whose one pass can make several rounds in a row (an
// attempt and its undo, a handover refreshed and released), each as long
// as the call timeout while a server hangs: the place would lapse in
// between, and a waiter behind it go first (lock-quorum.ts, "Renewals").
import type { LockQuorum, QueuePlace, WaiterClaim } from '@bulwark/lock-core';

export interface PlaceRenewalOptions {
  readonly quorum: LockQuorum;
  readonly name: string;
  readonly waiterId: string;
  /** The place: the ticket the waiter joined with. */
  readonly ticket: bigint;
  readonly claim: WaiterClaim;
  readonly leaseMs: number;
  /** Monotonic clock, ms. */
  readonly nowMs: () => number;
  /** Told of each renewal that came back while renewals were running; renewals pause after one that found a handover. */
  readonly onRenewed: (place: QueuePlace) => void;
  /** Told of a renewal that failed (fewer than a majority took it); renewals stop. */
  readonly onFailed: (error: unknown) => void;
}

export class PlaceRenewal {
  private state: 'paused' | 'running' | 'stopped' = 'paused';
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  private lastStartMs: number;
  /** Counts pauses and stops: a renewal begun before the last one tells nobody of what it found. */
  private generation = 0;

  constructor(private readonly options: PlaceRenewalOptions) {
    this.lastStartMs = options.nowMs();
  }

  /** Renews a third of the lease after the place was taken (or last renewed). */
  start(): void {
    if (this.state === 'stopped') return;
    this.state = 'running';
    this.schedule();
  }

  /** Renews now, or as soon as the renewal out comes back, and goes on renewing. */
  renewNow(): void {
    this.lastStartMs = -Infinity;
    this.start();
  }

  /** No renewal begins until start or renewNow: the waiter is taking a handover, and its place is over if it can use it. */
  pause(): void {
    if (this.state !== 'running') return;
    this.state = 'paused';
    this.generation += 1;
    clearTimeout(this.timer);
  }

  /** No renewal begins again; one that is out tells nobody. */
  stop(): void {
    this.state = 'stopped';
    this.generation += 1;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.state !== 'running' || this.renewing) return;
    const delayMs = this.lastStartMs + this.options.leaseMs / 3 - this.options.nowMs();
    // Due already (a new claim to bring to every server, say): sent now, before anything else the caller sends.
    if (delayMs <= 0) this.renew();
    else this.timer = setTimeout(() => this.renew(), delayMs);
  }

  private renew(): void {
    const { quorum, name, waiterId, ticket, claim, leaseMs } = this.options;
    const generation = this.generation;
    const told = () => generation === this.generation;
    this.renewing = true;
    this.lastStartMs = this.options.nowMs();
    void quorum
      .enqueue(name, waiterId, leaseMs, { ticket, claim })
      .then(
        (place) => {
          if (!told()) return;
          // A place handed over is over: renewing it would queue the waiter behind its own grant.
          if (place.handed) this.pause();
          this.options.onRenewed(place);
        },
        (error: unknown) => {
          if (!told()) return;
          this.stop();
          this.options.onFailed(error);
        },
      )
      .finally(() => {
        this.renewing = false;
        this.schedule();
      });
  }
}

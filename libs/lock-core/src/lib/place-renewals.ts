// When a waiter renews its place in the queue before a step of its wait:
// the one rule that the lock service's wait loop (lock-service
// waiter-place.ts, which derives the bound) and the simulation's waiters
// follow.
import { stepRoundsMax } from './lock-quorum';

/** A margin, as a fraction of the place's lease, for servers' clocks running up to 1% fast and timers firing late. */
const placeMarginFraction = 1 / 20;

/**
 * Whether a place whose last enqueue (the join or a renewal) was sent
 * sinceSentMs ago lasts through a step of up to roundsMax rounds and the
 * renewal after it, on every server that answers in time: sinceSentMs +
 * (roundsMax + 1) callTimeoutMs + leaseMs / 20 <= leaseMs. A waiter that
 * renews before any step for which this is false keeps its place unbroken
 * while leaseMs is at least 5 call timeouts / 0.95.
 */
export function placeLastsThrough(
  sinceSentMs: number,
  roundsMax: number,
  callTimeoutMs: number,
  leaseMs: number,
): boolean {
  const roundsMs = (roundsMax + stepRoundsMax.renewal) * callTimeoutMs;
  return sinceSentMs + roundsMs + leaseMs * placeMarginFraction <= leaseMs;
}

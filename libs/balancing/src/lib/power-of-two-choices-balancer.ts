import { PoolBalancer } from './balancer';
import type { CandidateSpec } from './candidate-pool';
import { randomBelow, type RandomSource } from '@bulwark/random';

/**
 * Least outstanding requests by the power of two choices (Azar, Broder,
 * Karlin and Upfal; Mitzenmacher): draw two distinct available candidates at
 * random and take the one with fewer outstanding requests (the first drawn on
 * a tie). In the balls-into-bins model one choice leaves the fullest bin near
 * log n / log log n, two choices near log log n. Comparing two rather than all
 * keeps a pick O(1) and spares the herd that pure least-loaded causes when
 * several routers, each with its own counts, all send to the same idle
 * replica. Ignores weights.
 */
export class PowerOfTwoChoicesBalancer extends PoolBalancer {
  constructor(
    candidates: readonly CandidateSpec[],
    private readonly random: RandomSource,
  ) {
    super(candidates);
  }

  protected pickIndex(available: readonly number[]): number {
    if (available.length === 1) return available[0] as number;
    const firstDraw = randomBelow(this.random, available.length);
    // Draw from the others: one fewer slot, shifted past the first draw.
    let secondDraw = randomBelow(this.random, available.length - 1);
    if (secondDraw >= firstDraw) secondDraw++;
    const first = available[firstDraw] as number;
    const second = available[secondDraw] as number;
    return this.pool.outstandingAt(second) < this.pool.outstandingAt(first) ? second : first;
  }
}

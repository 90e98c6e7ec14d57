import { PoolBalancer } from './balancer';
import type { CandidateSpec } from './candidate-pool';
import { randomBelow, type RandomSource } from '@bulwark/random';

/** A uniformly random available candidate, from a seeded source so runs can be replayed. Ignores weights. */
export class RandomBalancer extends PoolBalancer {
  constructor(
    candidates: readonly CandidateSpec[],
    private readonly random: RandomSource,
  ) {
    super(candidates);
  }

  protected pickIndex(available: readonly number[]): number {
    return available[randomBelow(this.random, available.length)] as number;
  }
}

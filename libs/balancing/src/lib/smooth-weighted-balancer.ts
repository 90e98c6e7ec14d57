import { PoolBalancer } from './balancer';
import type { CandidateSpec } from './candidate-pool';

/**
 * nginx's smooth weighted round-robin (ngx_http_upstream_get_peer): on every
 * pick each available candidate's current weight grows by its weight, the
 * largest current weight wins (the first one given on a tie) and loses the
 * sum of the weights. Over each run of sum-of-weights picks every candidate is
 * chosen exactly weight times, interleaved rather than in bursts: weights
 * 5, 1, 1 give a a b a c a a. Unavailable candidates take no part and keep
 * their current weight until they return.
 */
export class SmoothWeightedBalancer extends PoolBalancer {
  private readonly currentWeights: number[];

  constructor(candidates: readonly CandidateSpec[]) {
    super(candidates);
    this.currentWeights = this.pool.ids.map(() => 0);
  }

  protected pickIndex(available: readonly number[]): number {
    let totalWeight = 0;
    let best = available[0] as number;
    for (const index of available) {
      const weight = this.pool.weights[index] as number;
      this.currentWeights[index] = this.currentWeight(index) + weight;
      totalWeight += weight;
      if (this.currentWeight(index) > this.currentWeight(best)) best = index;
    }
    this.currentWeights[best] = this.currentWeight(best) - totalWeight;
    return best;
  }

  private currentWeight(index: number): number {
    return this.currentWeights[index] ?? 0;
  }
}

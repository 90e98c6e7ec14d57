import type { Balancer } from '../lib/balancer';

/** A fleet of replicas in discrete time: no clock, the same result for the same balancer and seed. */
export interface SkewedServiceSpec {
  /** Ticks each replica works on one request, by candidate id; slow replicas get larger numbers. */
  readonly serviceTicksById: ReadonlyMap<string, number>;
  /** Requests arriving at the start of every tick. */
  readonly arrivalsPerTick: number;
  /** Requests to send in all (picks). */
  readonly requests: number;
}

export interface SkewedServiceResult {
  /** The highest outstanding count any replica reached. */
  readonly maxOutstanding: number;
  /** Requests sent to each replica. */
  readonly picksById: ReadonlyMap<string, number>;
}

/**
 * Each tick, arrivalsPerTick requests are picked and started, then every
 * replica with work spends the tick on the oldest of its requests (one worker,
 * first come first served) and finishes it after its service ticks. The
 * balancer learns of every start and finish as a router would.
 */
export function simulateSkewedService(balancer: Balancer, spec: SkewedServiceSpec): SkewedServiceResult {
  const picksById = new Map(balancer.candidateIds.map((id) => [id, 0]));
  const progressTicksById = new Map(balancer.candidateIds.map((id) => [id, 0]));
  let maxOutstanding = 0;
  let sent = 0;
  while (sent < spec.requests) {
    for (let arrival = 0; arrival < spec.arrivalsPerTick && sent < spec.requests; arrival++, sent++) {
      const id = balancer.pick();
      balancer.requestStarted(id);
      picksById.set(id, (picksById.get(id) ?? 0) + 1);
      maxOutstanding = Math.max(maxOutstanding, balancer.outstanding(id));
    }
    for (const id of balancer.candidateIds) {
      if (balancer.outstanding(id) === 0) continue;
      const progressTicks = (progressTicksById.get(id) ?? 0) + 1;
      const done = progressTicks === (spec.serviceTicksById.get(id) ?? 1);
      progressTicksById.set(id, done ? 0 : progressTicks);
      if (done) balancer.requestFinished(id);
    }
  }
  return { maxOutstanding, picksById };
}

// Which replica answers a BOUNDED or EVENTUAL read: a libs/balancing
// strategy over the group's candidates (the in-sync set for BOUNDED, every
// member for EVENTUAL), skipping members that are not SERVING and members
// that lately refused such a read (too far behind, out of the in-sync set)
// for a short cool-down. With no candidate left the primary answers: it
// qualifies for every consistency.
import {
  PowerOfTwoChoicesBalancer,
  RandomBalancer,
  RoundRobinBalancer,
  SmoothWeightedBalancer,
  type Balancer,
} from '@bulwark/balancing';
import type { RandomSource } from '@bulwark/random';
import type { GroupRoute } from './routing-table';

export const readBalancerPolicies = ['power-of-two-choices', 'round-robin', 'random', 'smooth-weighted'] as const;
export type ReadBalancerPolicy = (typeof readBalancerPolicies)[number];

export type BalancedConsistency = 'bounded' | 'eventual';

/** How long a member that refused a balanced read is skipped. */
export const refusalCoolDownMs = 500;

/** A pick: the member, and the balancer to report its end to (a balancer outlives a topology change this way). */
export interface ReadTarget {
  readonly memberId: string;
  finished(): void;
}

interface GroupBalancer {
  readonly candidates: string;
  readonly balancer: Balancer;
  /** What the balancer was last told of each candidate (setAvailable rebuilds its index: only on a change). */
  readonly available: boolean[];
}

export interface ReadTargetsOptions {
  readonly policy: ReadBalancerPolicy;
  readonly random: RandomSource;
  /** Whether a member is SERVING, from its health watch. */
  readonly serving: (memberId: string) => boolean;
  readonly nowMs: () => number;
}

export class ReadTargets {
  private readonly balancers = new Map<string, GroupBalancer>();
  /** "consistency/member id" -> when its cool-down ends: a strict BOUNDED client's refusals never stop EVENTUAL reads. */
  private readonly coolingUntil = new Map<string, number>();

  constructor(private readonly options: ReadTargetsOptions) {}

  pick(group: GroupRoute, consistency: BalancedConsistency): ReadTarget {
    const candidates = consistency === 'bounded' ? group.inSync : group.members;
    if (candidates.length === 0) return { memberId: group.primary, finished: () => undefined };
    const { balancer, available } = this.balancerFor(group.id, consistency, candidates);
    const now = this.options.nowMs();
    let anyAvailable = false;
    candidates.forEach((memberId, index) => {
      const cooling = (this.coolingUntil.get(`${consistency}/${memberId}`) ?? 0) > now;
      const isAvailable = !cooling && this.options.serving(memberId);
      if (available[index] !== isAvailable) {
        available[index] = isAvailable;
        balancer.setAvailable(memberId, isAvailable);
      }
      anyAvailable ||= isAvailable;
    });
    if (!anyAvailable) return { memberId: group.primary, finished: () => undefined };
    const memberId = balancer.pick();
    balancer.requestStarted(memberId);
    return { memberId, finished: () => balancer.requestFinished(memberId) };
  }

  /** memberId refused a read at consistency, or went silent: skip it for such reads for a while. */
  refused(memberId: string, consistency: BalancedConsistency): void {
    this.coolingUntil.set(`${consistency}/${memberId}`, this.options.nowMs() + refusalCoolDownMs);
  }

  /** Forgets groups and members no longer in the topology. */
  retain(groupIds: ReadonlySet<string>, memberIds: ReadonlySet<string>): void {
    for (const key of this.balancers.keys()) {
      if (!groupIds.has(key.slice(0, key.lastIndexOf('/')))) this.balancers.delete(key);
    }
    for (const key of this.coolingUntil.keys()) {
      if (!memberIds.has(key.slice(key.indexOf('/') + 1))) this.coolingUntil.delete(key);
    }
  }

  private balancerFor(groupId: string, consistency: BalancedConsistency, candidates: readonly string[]): GroupBalancer {
    const key = `${groupId}/${consistency}`;
    const joined = candidates.join(',');
    const existing = this.balancers.get(key);
    if (existing?.candidates === joined) return existing;
    const created = {
      candidates: joined,
      balancer: this.newBalancer(candidates),
      available: candidates.map(() => true),
    };
    this.balancers.set(key, created);
    return created;
  }

  private newBalancer(candidates: readonly string[]): Balancer {
    const specs = candidates.map((id) => ({ id }));
    switch (this.options.policy) {
      case 'power-of-two-choices':
        return new PowerOfTwoChoicesBalancer(specs, this.options.random);
      case 'round-robin':
        return new RoundRobinBalancer(specs);
      case 'random':
        return new RandomBalancer(specs, this.options.random);
      case 'smooth-weighted':
        return new SmoothWeightedBalancer(specs);
    }
  }
}

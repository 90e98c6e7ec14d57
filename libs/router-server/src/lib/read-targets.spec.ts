import { Xoshiro128StarStar } from '@bulwark/random';
import {
  readBalancerPolicies,
  ReadTargets,
  refusalCoolDownMs,
  type BalancedConsistency,
  type ReadBalancerPolicy,
} from './read-targets';
import type { GroupRoute } from './routing-table';

/** r1 is primary; r1 and r2 are in sync; r3 and r4 are behind. */
const group: GroupRoute = {
  id: 'group-a',
  epoch: 4n,
  primary: 'r1',
  members: ['r1', 'r2', 'r3', 'r4'],
  inSync: ['r1', 'r2'],
};

function readTargets(policy: ReadBalancerPolicy, serving: (memberId: string) => boolean = () => true) {
  const clock = { nowMs: 10_000 };
  const targets = new ReadTargets({
    policy,
    random: new Xoshiro128StarStar(42),
    serving,
    nowMs: () => clock.nowMs,
  });
  return { targets, clock };
}

/** The members picks (each finished before the next) land on; enough picks to reach every candidate. */
function pickedMembers(
  targets: ReadTargets,
  route: GroupRoute,
  consistency: BalancedConsistency,
  picks = 200,
): Set<string> {
  const members = new Set<string>();
  for (let pick = 0; pick < picks; pick++) {
    const target = targets.pick(route, consistency);
    members.add(target.memberId);
    target.finished();
  }
  return members;
}

describe.each(readBalancerPolicies)('ReadTargets with %s', (policy) => {
  it('picks BOUNDED reads among the in-sync set only', () => {
    const { targets } = readTargets(policy);
    expect(pickedMembers(targets, group, 'bounded')).toEqual(new Set(['r1', 'r2']));
  });

  it('picks EVENTUAL reads among every member', () => {
    const { targets } = readTargets(policy);
    expect(pickedMembers(targets, group, 'eventual')).toEqual(new Set(['r1', 'r2', 'r3', 'r4']));
  });

  it('skips members that are not serving, and takes them back once they serve again', () => {
    const down = new Set(['r2', 'r4']);
    const { targets } = readTargets(policy, (memberId) => !down.has(memberId));
    expect(pickedMembers(targets, group, 'eventual')).toEqual(new Set(['r1', 'r3']));
    expect(pickedMembers(targets, group, 'bounded')).toEqual(new Set(['r1']));
    down.clear();
    expect(pickedMembers(targets, group, 'eventual')).toEqual(new Set(['r1', 'r2', 'r3', 'r4']));
  });

  it(`skips a member that refused a read for ${refusalCoolDownMs} ms`, () => {
    const { targets, clock } = readTargets(policy);
    targets.refused('r3', 'eventual');
    expect(pickedMembers(targets, group, 'eventual')).toEqual(new Set(['r1', 'r2', 'r4']));
    clock.nowMs += refusalCoolDownMs - 1;
    expect(pickedMembers(targets, group, 'eventual')).toEqual(new Set(['r1', 'r2', 'r4']));
    clock.nowMs += 1;
    expect(pickedMembers(targets, group, 'eventual')).toEqual(new Set(['r1', 'r2', 'r3', 'r4']));
  });

  it('keeps a refusal of a BOUNDED read from stopping EVENTUAL reads at that member', () => {
    const { targets } = readTargets(policy);
    targets.refused('r2', 'bounded');
    expect(pickedMembers(targets, group, 'bounded')).toEqual(new Set(['r1']));
    expect(pickedMembers(targets, group, 'eventual')).toEqual(new Set(['r1', 'r2', 'r3', 'r4']));
  });

  it('returns the primary when no candidate is available, even one not serving', () => {
    const { targets } = readTargets(policy, () => false);
    expect(pickedMembers(targets, group, 'bounded', 5)).toEqual(new Set(['r1']));
    expect(pickedMembers(targets, group, 'eventual', 5)).toEqual(new Set(['r1']));
  });

  it('returns the primary when every candidate is cooling down, also when the primary is not a candidate', () => {
    const { targets, clock } = readTargets(policy);
    const primaryBehind: GroupRoute = { ...group, inSync: ['r2', 'r3'] };
    targets.refused('r2', 'bounded');
    targets.refused('r3', 'bounded');
    expect(targets.pick(primaryBehind, 'bounded').memberId).toBe('r1');
    clock.nowMs += refusalCoolDownMs;
    expect(pickedMembers(targets, primaryBehind, 'bounded')).toEqual(new Set(['r2', 'r3']));
  });

  it('returns the primary when the in-sync set is empty', () => {
    const { targets } = readTargets(policy);
    const target = targets.pick({ ...group, inSync: [] }, 'bounded');
    expect(target.memberId).toBe('r1');
    expect(() => target.finished()).not.toThrow();
  });

  it('picks among the new candidates when the in-sync set changes', () => {
    const { targets } = readTargets(policy);
    expect(pickedMembers(targets, group, 'bounded')).toEqual(new Set(['r1', 'r2']));
    const caughtUp: GroupRoute = { ...group, inSync: ['r1', 'r2', 'r3'] };
    expect(pickedMembers(targets, caughtUp, 'bounded')).toEqual(new Set(['r1', 'r2', 'r3']));
  });

  it('lets a pick made before the candidates changed finish afterwards', () => {
    const { targets } = readTargets(policy);
    const before = targets.pick(group, 'bounded');
    targets.pick({ ...group, inSync: ['r2'] }, 'bounded').finished();
    expect(() => before.finished()).not.toThrow();
  });
});

describe('ReadTargets with power-of-two-choices', () => {
  it('prefers the less loaded candidate, and sees a finished read as load gone', () => {
    const { targets } = readTargets('power-of-two-choices');
    // With two candidates both are always drawn, so the pick is the less loaded one.
    const first = targets.pick(group, 'bounded');
    const second = targets.pick(group, 'bounded');
    expect(second.memberId).not.toBe(first.memberId);
    first.finished();
    // first: 0 outstanding, second: 1; every read that finishes before the next pick goes to first.
    expect(pickedMembers(targets, group, 'bounded', 50)).toEqual(new Set([first.memberId]));
    second.finished();
    expect(pickedMembers(targets, group, 'bounded')).toEqual(new Set(['r1', 'r2']));
  });
});

describe('ReadTargets.retain', () => {
  it('forgets the cool-down of a member that left the topology', () => {
    const { targets } = readTargets('round-robin');
    targets.refused('r3', 'eventual');
    targets.retain(new Set(['group-a']), new Set(['r1', 'r2', 'r4']));
    expect(pickedMembers(targets, group, 'eventual')).toEqual(new Set(['r1', 'r2', 'r3', 'r4']));
  });

  it('keeps the cool-down of a member still in the topology', () => {
    const { targets } = readTargets('round-robin');
    targets.refused('r3', 'eventual');
    targets.retain(new Set(['group-a']), new Set(['r1', 'r2', 'r3', 'r4']));
    expect(pickedMembers(targets, group, 'eventual')).toEqual(new Set(['r1', 'r2', 'r4']));
  });
});

// The simulator is only worth its seeds if it catches real bugs: plant one
// in the runner or the core and it must report a violation, within the
// seeds `npm test` runs, with the seed that shows it.
import { ManualCluster } from '../testing/manual-cluster';
import { leaderLearnsValueChosenElsewhere } from '../testing/scenarios';
import { runSimulation, type InjectedBug } from '../testing/simulator';

const seedsMax = 500;

function firstViolation(bug: InjectedBug, members: 3 | 5): string | undefined {
  const firstSeed = members === 3 ? 1 : 1_000_001;
  for (let seed = firstSeed; seed < firstSeed + seedsMax; seed++) {
    const result = runSimulation({ seed, members, chaosTicks: 200, bug });
    if (result.violation) return result.violation;
  }
  return undefined;
}

const caughtBySimulation: Array<[InjectedBug, 3 | 5, RegExp]> = [
  ['skip-fsync', 3, /^seed \d+: (slot \d+ chose|.* committed prefix through slot \d+ differs|stale read)/],
  [
    'split-membership',
    5,
    /^seed \d+: (leases held at once|slot \d+ chose|.* committed prefix|stale read|.* holds a lease)/,
  ],
  ['lease-beyond-protection', 3, /^seed \d+: n\d holds a lease in ballot \S+ that only \d members protect/],
  ['lease-from-ack', 3, /^seed \d+: n\d holds a lease in ballot \S+ that only \d members protect/],
  [
    'read-without-barrier',
    3,
    /^seed \d+: stale read: n\d may read locally at applied slot \d+, but slot \d+ was acknowledged/,
  ],
  [
    'read-before-apply',
    3,
    /^seed \d+: stale read: n\d may read locally at applied slot \d+, but slot \d+ was acknowledged/,
  ],
  ['lease-beyond-protection', 5, /^seed \d+: n\d holds a lease/],
  ['read-before-apply', 5, /^seed \d+: stale read/],
  ['no-step-down-to-learn', 5, /^seed \d+: (.* committed prefix through slot \d+ differs|slot \d+ chose)/],
];

describe('bug injection', () => {
  it.each(caughtBySimulation)('finds the planted bug %s with %i members', (bug, members, expected) => {
    expect(firstViolation(bug, members)).toMatch(expected);
  });

  // The same bug in the scenario that builds it directly, on three members.
  it('finds a leader that keeps leading after learning values chosen elsewhere, in its scenario', () => {
    const outcome = leaderLearnsValueChosenElsewhere(
      new ManualCluster(['a', 'b', 'c'], {}, 1, 'no-step-down-to-learn'),
    );
    expect(outcome.leaderRoleAfter).toBe('leader');
    expect(outcome.witnessLog).toContain('v');
  });

  it('finds nothing without a planted bug on the same seeds', () => {
    for (let seed = 1; seed <= 100; seed++) {
      expect(runSimulation({ seed, members: 3, chaosTicks: 200 }).violation).toBeUndefined();
    }
  });
});

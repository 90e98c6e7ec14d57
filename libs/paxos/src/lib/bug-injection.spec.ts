// The simulator is only worth its seeds if it catches real bugs: plant one in
// the runner and it must report a violation, with the seed that shows it.
import { runSimulation, type InjectedBug } from '../testing/simulator';

const seedsMax = 500;

function firstViolation(bug: InjectedBug, members: 3 | 5): string | undefined {
  for (let seed = 1; seed <= seedsMax; seed++) {
    const result = runSimulation({ seed, members, chaosTicks: 200, bug });
    if (result.violation) return result.violation;
  }
  return undefined;
}

describe('bug injection', () => {
  it('finds the lost writes of a runner that skips the fsync', () => {
    const violation = firstViolation('skip-fsync', 3);
    expect(violation).toMatch(/^seed \d+: (slot \d+ chose|.* committed prefix through slot \d+ differs)/);
  });

  it('finds two leaders when membership is split so each side counts a false majority', () => {
    const violation = firstViolation('split-membership', 5);
    expect(violation).toMatch(/^seed \d+: (leases held at once|slot \d+ chose|.* committed prefix)/);
  });

  it('finds nothing without a planted bug on the same seeds', () => {
    for (let seed = 1; seed <= 100; seed++) {
      expect(runSimulation({ seed, members: 3, chaosTicks: 200 }).violation).toBeUndefined();
    }
  });
});

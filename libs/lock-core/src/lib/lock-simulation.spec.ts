import { runLockSimulation, type LockMutation } from '../testing/lock-simulation';

describe('LockQuorum in seeded simulation', () => {
  it.each([
    [3, 150],
    [5, 60],
  ])(
    'keeps every invariant over %i servers for %i seeds of lost messages, outages and clock rates',
    async (servers, seeds) => {
      let grants = 0;
      for (let seed = 1; seed <= seeds; seed++) {
        const result = await runLockSimulation({ seed, servers });
        expect({ seed, violations: result.violations }).toEqual({ seed, violations: [] });
        grants += result.grants.length;
      }
      // The runs were not idle: clients took the lock thousands of times.
      expect(grants).toBeGreaterThan(seeds * 10);
    },
  );

  const planted: Array<[LockMutation, string]> = [
    ['grant-ignores-fence', 'unique-tokens'],
    ['forget-fences-on-restart', 'later-grant-higher-token'],
    ['half-is-majority', 'mutual-exclusion'],
    ['validity-from-completion', 'mutual-exclusion'],
  ];

  it.each(planted)('catches the planted bug %s (%s)', async (mutation, invariant) => {
    const caught: string[] = [];
    for (let seed = 1; seed <= 100 && caught.length === 0; seed++) {
      const { violations } = await runLockSimulation({ seed, mutation });
      caught.push(...violations.filter((violation) => violation.startsWith(`${invariant}:`)));
    }
    expect(caught.length).toBeGreaterThan(0);
  });
});

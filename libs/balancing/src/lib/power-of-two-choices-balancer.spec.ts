import fc from 'fast-check';
import { simulateSkewedService } from '../testing/skewed-service-simulation';
import { PowerOfTwoChoicesBalancer } from './power-of-two-choices-balancer';
import { RandomBalancer } from './random-balancer';
import { Xoshiro128StarStar } from '@bulwark/random';

const withOutstanding = (outstandingCounts: readonly number[], seed: number) => {
  const balancer = new PowerOfTwoChoicesBalancer(
    outstandingCounts.map((_, index) => ({ id: `r${index}` })),
    new Xoshiro128StarStar(seed),
  );
  outstandingCounts.forEach((count, index) => {
    for (let request = 0; request < count; request++) balancer.requestStarted(`r${index}`);
  });
  return balancer;
};

describe('PowerOfTwoChoicesBalancer', () => {
  it('between two candidates always takes the one with fewer outstanding requests', () => {
    const balancer = withOutstanding([3, 1], 1);
    expect(new Set(Array.from({ length: 1000 }, () => balancer.pick()))).toEqual(new Set(['r1']));
  });

  it('never picks the single most loaded candidate (200 runs of 200 picks)', () => {
    const counts = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 2, maxLength: 8 });
    fc.assert(
      fc.property(counts, fc.nat(), (outstandingCounts, seed) => {
        const most = Math.max(...outstandingCounts);
        fc.pre(outstandingCounts.filter((count) => count === most).length === 1);
        const balancer = withOutstanding(outstandingCounts, seed);
        const busiest = `r${outstandingCounts.indexOf(most)}`;
        const picked = new Set(Array.from({ length: 200 }, () => balancer.pick()));
        expect(picked.has(busiest)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('spreads picks within 3 sigma of even when loads are equal (100k picks)', () => {
    const balancer = withOutstanding([0, 0, 0, 0], 5);
    const picks = 100_000;
    const counts = new Map<string, number>();
    for (let pick = 0; pick < picks; pick++) {
      const id = balancer.pick();
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const sigma = Math.sqrt(picks * 0.25 * 0.75);
    for (const id of ['r0', 'r1', 'r2', 'r3']) {
      expect(Math.abs((counts.get(id) ?? 0) - picks * 0.25)).toBeLessThanOrEqual(3 * sigma);
    }
  });

  describe('with two of ten replicas four times slower (discrete-time simulation, 100k requests)', () => {
    const ids = Array.from({ length: 10 }, (_, index) => `replica-${index}`);
    const spec = {
      // Two requests a tick: random sends each replica 0.2 a tick, 80% of what a slow one serves.
      serviceTicksById: new Map(ids.map((id, index) => [id, index < 2 ? 4 : 1])),
      arrivalsPerTick: 2,
      requests: 100_000,
    };
    const candidates = ids.map((id) => ({ id }));

    it.each([[1], [2], [3], [4], [5]])(
      'keeps the maximum outstanding count under a quarter of random (seed %p)',
      (seed) => {
        const random = simulateSkewedService(new RandomBalancer(candidates, new Xoshiro128StarStar(seed)), spec);
        const p2c = simulateSkewedService(
          new PowerOfTwoChoicesBalancer(candidates, new Xoshiro128StarStar(seed)),
          spec,
        );
        expect(p2c.maxOutstanding * 4).toBeLessThan(random.maxOutstanding);
        const slowPicks = (picksById: ReadonlyMap<string, number>) =>
          (picksById.get('replica-0') ?? 0) + (picksById.get('replica-1') ?? 0);
        expect(slowPicks(p2c.picksById)).toBeLessThan(slowPicks(random.picksById));
      },
    );
  });
});

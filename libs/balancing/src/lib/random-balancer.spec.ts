import { RandomBalancer } from './random-balancer';
import { Xoshiro128StarStar } from '@bulwark/random';

const countPicks = (balancer: RandomBalancer, count: number) => {
  const counts = new Map<string, number>();
  for (let pick = 0; pick < count; pick++) {
    const id = balancer.pick();
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
};

const ids = ['a', 'b', 'c', 'd', 'e'];

describe('RandomBalancer', () => {
  it.each([[1], [2], [3]])(
    'keeps every candidate within 3 sigma of an even share over 100k picks (seed %p)',
    (seed) => {
      const picks = 100_000;
      const counts = countPicks(
        new RandomBalancer(
          ids.map((id) => ({ id })),
          new Xoshiro128StarStar(seed),
        ),
        picks,
      );
      const share = 1 / ids.length;
      const sigma = Math.sqrt(picks * share * (1 - share));
      for (const id of ids) {
        expect(Math.abs((counts.get(id) ?? 0) - picks * share)).toBeLessThanOrEqual(3 * sigma);
      }
    },
  );

  it('spreads evenly over the candidates left when one is unavailable (100k picks)', () => {
    const balancer = new RandomBalancer(
      ids.map((id) => ({ id })),
      new Xoshiro128StarStar(4),
    );
    balancer.setAvailable('c', false);
    const picks = 100_000;
    const counts = countPicks(balancer, picks);
    expect(counts.has('c')).toBe(false);
    const sigma = Math.sqrt(picks * 0.25 * 0.75);
    for (const id of ['a', 'b', 'd', 'e']) {
      expect(Math.abs((counts.get(id) ?? 0) - picks * 0.25)).toBeLessThanOrEqual(3 * sigma);
    }
  });

  it('replays the same picks from the same seed', () => {
    const sequence = (seed: number) => {
      const balancer = new RandomBalancer(
        ids.map((id) => ({ id })),
        new Xoshiro128StarStar(seed),
      );
      return Array.from({ length: 1000 }, () => balancer.pick());
    };
    expect(sequence(9)).toEqual(sequence(9));
    expect(sequence(9)).not.toEqual(sequence(10));
  });
});

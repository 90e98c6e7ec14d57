import fc from 'fast-check';
import { SmoothWeightedBalancer } from './smooth-weighted-balancer';

const picks = (balancer: SmoothWeightedBalancer, count: number) => Array.from({ length: count }, () => balancer.pick());

describe('SmoothWeightedBalancer', () => {
  it("repeats nginx's a a b a c a a for weights 5, 1, 1, exactly, over 100k picks", () => {
    const balancer = new SmoothWeightedBalancer([
      { id: 'a', weight: 5 },
      { id: 'b', weight: 1 },
      { id: 'c', weight: 1 },
    ]);
    const pattern = ['a', 'a', 'b', 'a', 'c', 'a', 'a'];
    const sequence = picks(balancer, 100_000);
    expect(sequence.slice(0, 7)).toEqual(pattern);
    expect(sequence.filter((id, index) => id !== pattern[index % 7])).toEqual([]);
  });

  it('picks every candidate exactly weight times in each run of sum-of-weights picks (100 runs, 10 rounds)', () => {
    const weights = fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(weights, (weightList) => {
        const balancer = new SmoothWeightedBalancer(weightList.map((weight, index) => ({ id: `r${index}`, weight })));
        const totalWeight = weightList.reduce((sum, weight) => sum + weight, 0);
        for (let round = 0; round < 10; round++) {
          const counts = new Map<string, number>();
          for (const id of picks(balancer, totalWeight)) counts.set(id, (counts.get(id) ?? 0) + 1);
          expect(weightList.map((_, index) => counts.get(`r${index}`) ?? 0)).toEqual(weightList);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('shares the picks among the available candidates by weight while one is away', () => {
    const balancer = new SmoothWeightedBalancer([
      { id: 'a', weight: 5 },
      { id: 'b', weight: 2 },
      { id: 'c', weight: 1 },
    ]);
    balancer.setAvailable('a', false);
    expect(picks(balancer, 6)).toEqual(['b', 'c', 'b', 'b', 'c', 'b']);
    balancer.setAvailable('a', true);
    const counts = new Map<string, number>();
    for (const id of picks(balancer, 8 * 100)) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([counts.get('a'), counts.get('b'), counts.get('c')]).toEqual([500, 200, 100]);
  });
});

import { RoundRobinBalancer } from './round-robin-balancer';

const picks = (balancer: RoundRobinBalancer, count: number) => Array.from({ length: count }, () => balancer.pick());

describe('RoundRobinBalancer', () => {
  it('gives a b c a b c ... exactly, over 100k picks', () => {
    const balancer = new RoundRobinBalancer([{ id: 'a' }, { id: 'b', weight: 5 }, { id: 'c' }]);
    const sequence = picks(balancer, 100_000);
    const mismatches = sequence.filter((id, index) => id !== ['a', 'b', 'c'][index % 3]);
    expect(mismatches).toEqual([]);
  });

  it('skips an unavailable candidate and takes it back in its turn when it returns', () => {
    const balancer = new RoundRobinBalancer([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    expect(picks(balancer, 2)).toEqual(['a', 'b']);
    balancer.setAvailable('a', false);
    expect(picks(balancer, 4)).toEqual(['c', 'b', 'c', 'b']);
    balancer.setAvailable('a', true);
    expect(picks(balancer, 4)).toEqual(['c', 'a', 'b', 'c']);
  });
});

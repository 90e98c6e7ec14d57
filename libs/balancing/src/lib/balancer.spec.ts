import { FailedPreconditionError, NotFoundError, UnavailableError } from '@bulwark/errors';
import fc from 'fast-check';
import { expectInvalidArgument } from '@bulwark/errors/testing';
import type { Balancer } from './balancer';
import { candidateIdLengthMax, candidatesMax, type CandidateSpec } from './candidate-pool';
import { PowerOfTwoChoicesBalancer } from './power-of-two-choices-balancer';
import { RandomBalancer } from './random-balancer';
import { Xoshiro128StarStar } from '@bulwark/random';
import { RoundRobinBalancer } from './round-robin-balancer';
import { SmoothWeightedBalancer } from './smooth-weighted-balancer';

// What every strategy shares: input checks, skipping unavailable candidates
// and the outstanding-request bookkeeping.
const strategies: [string, (candidates: readonly CandidateSpec[]) => Balancer][] = [
  ['RoundRobinBalancer', (candidates) => new RoundRobinBalancer(candidates)],
  ['RandomBalancer', (candidates) => new RandomBalancer(candidates, new Xoshiro128StarStar(1))],
  ['SmoothWeightedBalancer', (candidates) => new SmoothWeightedBalancer(candidates)],
  ['PowerOfTwoChoicesBalancer', (candidates) => new PowerOfTwoChoicesBalancer(candidates, new Xoshiro128StarStar(1))],
];

describe.each(strategies)('%s', (_name, create) => {
  const abc = () => create([{ id: 'a', weight: 3 }, { id: 'b' }, { id: 'c', weight: 2 }]);

  it('never picks an unavailable candidate, whatever the order of changes (100 runs of 200 steps)', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('pick' as const) }),
      fc.record({ kind: fc.constant('set' as const), id: fc.constantFrom('a', 'b', 'c'), available: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 200, maxLength: 200 }), (steps) => {
        const balancer = abc();
        const available = new Set(['a', 'b', 'c']);
        for (const action of steps) {
          if (action.kind === 'set') {
            balancer.setAvailable(action.id, action.available);
            if (action.available) available.add(action.id);
            else available.delete(action.id);
          } else if (available.size === 0) {
            expect(() => balancer.pick()).toThrow(UnavailableError);
          } else {
            expect(available.has(balancer.pick())).toBe(true);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('throws a retryable UnavailableError when no candidate is available, and picks again once one returns', () => {
    const balancer = abc();
    for (const id of ['a', 'b', 'c']) balancer.setAvailable(id, false);
    let caught: unknown;
    try {
      balancer.pick();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnavailableError);
    expect((caught as UnavailableError).retryable).toBe(true);
    balancer.setAvailable('b', true);
    expect([balancer.pick(), balancer.pick()]).toEqual(['b', 'b']);
  });

  it('counts outstanding requests from the reported starts and finishes', () => {
    const balancer = abc();
    balancer.requestStarted('a');
    balancer.requestStarted('a');
    balancer.requestStarted('b');
    balancer.requestFinished('a');
    expect(['a', 'b', 'c'].map((id) => balancer.outstanding(id))).toEqual([1, 1, 0]);
    balancer.setAvailable('a', false);
    balancer.requestFinished('a');
    expect(balancer.outstanding('a')).toBe(0);
  });

  it('rejects a finish without a start, and unknown ids', () => {
    const balancer = abc();
    expect(() => balancer.requestFinished('c')).toThrow(FailedPreconditionError);
    expect(balancer.outstanding('c')).toBe(0);
    expect(() => balancer.requestStarted('zeta')).toThrow(NotFoundError);
    expect(() => balancer.setAvailable('zeta', false)).toThrow(NotFoundError);
    expect(() => balancer.outstanding('zeta')).toThrow(NotFoundError);
  });

  it('rejects a bad candidate list, naming the field', () => {
    expectInvalidArgument(() => create([]), 'candidates');
    const tooMany = Array.from({ length: candidatesMax + 1 }, (_, index) => ({ id: `r${index}` }));
    expectInvalidArgument(() => create(tooMany), 'candidates');
    expectInvalidArgument(() => create([{ id: 'a' }, { id: 'a' }]), 'candidates[1].id');
    expectInvalidArgument(() => create([{ id: '' }]), 'candidates[0].id');
    expectInvalidArgument(() => create([{ id: 'x'.repeat(candidateIdLengthMax + 1) }]), 'candidates[0].id');
    for (const weight of [0, 1001, 1.5]) {
      expectInvalidArgument(() => create([{ id: 'a' }, { id: 'b', weight }]), 'candidates[1].weight');
    }
  });

  it('lists its candidate ids in the order given', () => {
    expect(abc().candidateIds).toEqual(['a', 'b', 'c']);
  });
});

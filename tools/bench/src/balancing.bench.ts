import {
  PowerOfTwoChoicesBalancer,
  RandomBalancer,
  RoundRobinBalancer,
  SmoothWeightedBalancer,
  type Balancer,
  type CandidateSpec,
} from '@bulwark/balancing';
import { Xoshiro128StarStar } from '@bulwark/random';
import { measureOpsPerSecond } from './measure';
import type { BenchTable } from './table';

// Cost of choosing a replica, alone and with the start/finish reports a
// router makes for every request.

const picksPerBatch = 10_000;

const strategies: [string, (candidates: CandidateSpec[]) => Balancer][] = [
  ['round-robin', (candidates) => new RoundRobinBalancer(candidates)],
  ['random', (candidates) => new RandomBalancer(candidates, new Xoshiro128StarStar(1))],
  ['smooth weighted', (candidates) => new SmoothWeightedBalancer(candidates)],
  ['power of two choices', (candidates) => new PowerOfTwoChoicesBalancer(candidates, new Xoshiro128StarStar(1))],
];

export function runBalancingBench(): BenchTable[] {
  const rows: (string | number)[][] = [];
  for (const candidateCount of [3, 10]) {
    const candidates = Array.from({ length: candidateCount }, (_, index) => ({
      id: `replica-${index}`,
      weight: index + 1,
    }));
    for (const [name, create] of strategies) {
      const balancer = create(candidates);
      const picksPerSecond = measureOpsPerSecond(() => {
        for (let pick = 0; pick < picksPerBatch; pick++) balancer.pick();
      }, picksPerBatch);
      const requestsPerSecond = measureOpsPerSecond(() => {
        for (let pick = 0; pick < picksPerBatch; pick++) {
          const id = balancer.pick();
          balancer.requestStarted(id);
          balancer.requestFinished(id);
        }
      }, picksPerBatch);
      rows.push([name, candidateCount, picksPerSecond, requestsPerSecond]);
    }
  }
  return [
    {
      title: 'Replica selection (weights 1..n; smooth weighted is the only strategy that uses them)',
      columns: ['strategy', 'candidates', 'picks/s', 'pick + start + finish/s'],
      rows,
    },
  ];
}

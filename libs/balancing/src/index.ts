export type { Balancer } from './lib/balancer';
export { candidateIdLengthMax, candidatesMax, candidateWeightMax, type CandidateSpec } from './lib/candidate-pool';
export { RoundRobinBalancer } from './lib/round-robin-balancer';
export { RandomBalancer } from './lib/random-balancer';
export { SmoothWeightedBalancer } from './lib/smooth-weighted-balancer';
export { PowerOfTwoChoicesBalancer } from './lib/power-of-two-choices-balancer';

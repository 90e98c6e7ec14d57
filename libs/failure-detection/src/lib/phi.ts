// The phi of phi-accrual failure detection (Hayashibara et al. 2004) with the
// logistic approximation of the normal distribution that Akka's
// PhiAccrualFailureDetector and Cassandra use, so our thresholds mean what
// theirs mean: phi = -log10(P(the next heartbeat is later than now)).
import { InvalidArgumentError } from '@bulwark/errors';

/** Coefficients of the logistic approximation 1 / (1 + e^(y * (a + b * y^2))) of the normal tail. */
const linearCoefficient = 1.5976;
const cubicCoefficient = 0.070566;

function exponent(y: number): number {
  return y * (linearCoefficient + cubicCoefficient * y * y);
}

/**
 * Phi after `elapsedMs` without a heartbeat, for intervals of `meanMs` (the
 * acceptable pause already added) and `stdDeviationMs` (already floored).
 * Computed as softplus(exponent) / ln 10, which equals Akka's
 * -log10(e / (1 + e)) but keeps growing instead of reaching Infinity when
 * e^-exponent underflows, so a dead member's phi stays comparable.
 */
export function phiAfter(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  requirePositive('stdDeviationMs', stdDeviationMs);
  const a = exponent((elapsedMs - meanMs) / stdDeviationMs);
  return (Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a)))) / Math.LN10;
}

/**
 * The inverse of phiAfter: how long after the last heartbeat phi reaches
 * `phi`. Used to state detection times (README, dashboards) and to choose
 * test gaps; the detector itself never needs it.
 */
export function elapsedAtPhi(phi: number, meanMs: number, stdDeviationMs: number): number {
  requirePositive('phi', phi);
  requirePositive('stdDeviationMs', stdDeviationMs);
  // softplus(a) = phi * ln 10  =>  a = ln(10^phi - 1), written to stay finite for large phi.
  const target = phi * Math.LN10 + Math.log1p(-Math.pow(10, -phi));
  // exponent(y) = target is the cubic y^3 + p*y + q = 0 with p > 0, so it has
  // exactly one real root (Cardano).
  const p = linearCoefficient / cubicCoefficient;
  const q = -target / cubicCoefficient;
  const root = Math.sqrt((q * q) / 4 + (p * p * p) / 27);
  const y = Math.cbrt(-q / 2 + root) + Math.cbrt(-q / 2 - root);
  return meanMs + y * stdDeviationMs;
}

function requirePositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new InvalidArgumentError(name, `must be a finite number above 0, got ${value}`);
  }
}

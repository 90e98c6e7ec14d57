import type { LatencyFigures } from './figures';

// Percentiles and searches over sorted numbers. A Float64Array sorts
// numerically by default ([11, 10, 9].sort() on an Array sorts as strings).

/** Sorted ascending, as a typed array. */
export function sortedNumbers(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** Nearest rank: the smallest value with at least fraction q of the values at or below it; null when empty. */
export function nearestRank(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
}

export function latencyFigures(latenciesMs: readonly number[]): LatencyFigures {
  const sorted = sortedNumbers(latenciesMs);
  return {
    count: sorted.length,
    p50Ms: nearestRank(sorted, 0.5),
    p99Ms: nearestRank(sorted, 0.99),
    maxMs: nearestRank(sorted, 1),
  };
}

/** The first index whose value is at least `value` (sorted.length if none). */
export function lowerBound(sorted: Float64Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The first index whose value is above `value` (sorted.length if none). */
export function upperBound(sorted: Float64Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

import type { ChaosOperation } from '@bulwark/chaos-history';
import type { LatencySeries, Timeline } from './figures';
import { latencyMsOf, operationClassOf } from './operation-classes';
import { nearestRank, sortedNumbers } from './sorted-numbers';

/** Bounds the timeline (and the chart's points): two hours a second, a longer run in wider buckets. */
export const timelineBucketsMax = 7_200;

type SeriesClass = keyof Timeline['latency'];

function latencySeries(latenciesByBucket: readonly number[][]): LatencySeries {
  const p50Ms: (number | null)[] = [];
  const p99Ms: (number | null)[] = [];
  for (const latencies of latenciesByBucket) {
    const sorted = sortedNumbers(latencies);
    p50Ms.push(nearestRank(sorted, 0.5));
    p99Ms.push(nearestRank(sorted, 0.99));
  }
  return { p50Ms, p99Ms };
}

/** Buckets from originMs to endMs (both on the monoMs clock; every operation's times fall between them). */
export function buildTimeline(operations: readonly ChaosOperation[], originMs: number, endMs: number): Timeline {
  const spanSeconds = Math.max(0, endMs - originMs) / 1_000;
  // The end's own bucket counts too: at most timelineBucketsMax buckets in all.
  const bucketSeconds = Math.max(1, Math.ceil(spanSeconds / (timelineBucketsMax - 1)));
  const bucketCount = Math.floor(spanSeconds / bucketSeconds) + 1;
  const bucketOf = (ms: number) =>
    Math.min(bucketCount - 1, Math.max(0, Math.floor((ms - originMs) / (bucketSeconds * 1_000))));
  const zeros = () => new Array<number>(bucketCount).fill(0);
  const countIn = (counts: number[], bucket: number) => (counts[bucket] = (counts[bucket] as number) + 1);
  const ok = zeros();
  const failed = zeros();
  const unknown = zeros();
  const latencies: Record<SeriesClass, number[][]> = {
    all: Array.from({ length: bucketCount }, () => []),
    read: Array.from({ length: bucketCount }, () => []),
    write: Array.from({ length: bucketCount }, () => []),
  };
  for (const operation of operations) {
    if (operation.outcome === 'unknown') {
      countIn(unknown, bucketOf(operation.invokedMs));
      continue;
    }
    const bucket = bucketOf(operation.completedMs as number);
    if (operation.outcome === 'fail') {
      countIn(failed, bucket);
      continue;
    }
    countIn(ok, bucket);
    const latencyMs = latencyMsOf(operation);
    (latencies.all[bucket] as number[]).push(latencyMs);
    const operationClass = operationClassOf(operation);
    if (operationClass !== 'lock') (latencies[operationClass][bucket] as number[]).push(latencyMs);
  }
  return {
    bucketSeconds,
    seconds: Array.from({ length: bucketCount }, (_, bucket) => bucket * bucketSeconds),
    ok,
    failed,
    unknown,
    latency: {
      all: latencySeries(latencies.all),
      read: latencySeries(latencies.read),
      write: latencySeries(latencies.write),
    },
  };
}

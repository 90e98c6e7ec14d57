// What a lock service shows Prometheus: grants by the call that took them,
// how long callers waited, and (read at each scrape) how many wait now and
// the longest queue on one lock here, which is the hot lock's.
import { histogram, counter, scrapedGauge } from '@bulwark/metrics';
import type { AcquireRequest, AcquireResult, Locks } from './locks';

/** The lock.v1 calls that take a lock. */
export type AcquireMethod = 'Acquire' | 'TryAcquire' | 'Hold';
const acquireMethods: readonly AcquireMethod[] = ['Acquire', 'TryAcquire', 'Hold'];

const grants = counter<'method'>({
  name: 'bulwark_lock_grants_total',
  help: 'Locks granted, by the lock.v1 call that took them (Acquire, TryAcquire, Hold).',
  labelNames: ['method'],
});
const waitSeconds = histogram<'acquired'>({
  name: 'bulwark_lock_wait_seconds',
  help: 'How long a call that may wait (wait_timeout_ms above 0) took to get the lock, or to give up (acquired="false").',
  labelNames: ['acquired'],
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
});
const waiters = scrapedGauge({
  name: 'bulwark_lock_waiters',
  help: 'Acquire and Hold calls waiting for a lock on this instance now.',
});
const queueLengthMax = scrapedGauge({
  name: 'bulwark_lock_queue_length_max',
  help: "Calls waiting on this instance for its most wanted lock now: the hot lock's queue length.",
});

// Every series there is from the start, at zero: rate() and absent() work before the first grant.
for (const method of acquireMethods) grants.inc({ method }, 0);
for (const acquired of ['true', 'false']) waitSeconds.zero({ acquired });

/** locks.acquire, counted: a grant under the call that took it, and the wait of a call that may wait. */
export async function acquireCounted(
  locks: Locks,
  method: AcquireMethod,
  request: AcquireRequest,
  signal: AbortSignal,
): Promise<AcquireResult> {
  const startedMs = performance.now();
  const result = await locks.acquire(request, signal);
  if (result.acquired) grants.inc({ method });
  if (request.waitTimeoutMs > 0) {
    waitSeconds.observe({ acquired: String(result.acquired) }, (performance.now() - startedMs) / 1_000);
  }
  return result;
}

/** Reads `locks` at each scrape until the returned function is called. */
export function readLockMetrics(locks: Locks): () => void {
  const stops = [
    waiters.readFrom((sample) => sample(locks.waiting)),
    queueLengthMax.readFrom((sample) => sample(locks.longestQueue)),
  ];
  return () => stops.forEach((stop) => stop());
}

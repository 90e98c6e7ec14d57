// A closed-loop load: `inFlight` slots, each sending its next operation as
// soon as its previous one is answered. A warm-up runs untimed; then only
// operations answered inside the measured window count, and the window's
// own edges are where the caller samples CPU.
import { performance } from 'node:perf_hooks';
import { isRetryable } from '@bulwark/errors';

export interface ClosedLoopOptions {
  inFlight: number;
  warmupMs: number;
  durationMs: number;
  /**
   * Operation number n (counted across slots from 0). A retryable rejection
   * (a client would retry it) sends the same n again and is counted; any
   * other stops the whole load and fails the run.
   */
  operation: (n: number) => Promise<void>;
  /** Called as the measured window opens and as it closes (with operations still in flight). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export interface ClosedLoopResult {
  /** Operations answered inside the window. */
  ops: number;
  /** The window's length as measured, not as asked. */
  elapsedMs: number;
  /** Latency of each operation answered inside the window, ascending (retries included). */
  latenciesMs: number[];
  /** Retryable rejections retried, over the whole load. */
  retried: number;
}

/** The value at `fraction` of an ascending list (0 for an empty one). */
export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const latenciesMs: number[] = [];
  let phase: 'warmup' | 'measure' | 'stopping' = 'warmup';
  let windowStartMs = 0;
  let windowEndMs = 0;
  let issued = 0;
  let retried = 0;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => {
    phase = 'stopping';
    timers.forEach(clearTimeout);
  };
  // The window's end is counted from its real start: a busy loop that fires the start late never shortens it.
  timers.push(
    setTimeout(() => {
      phase = 'measure';
      options.onWindowStart?.();
      windowStartMs = performance.now();
      timers.push(
        setTimeout(() => {
          windowEndMs = performance.now();
          options.onWindowEnd?.();
          phase = 'stopping';
        }, options.durationMs),
      );
    }, options.warmupMs),
  );
  const slot = async () => {
    while (phase !== 'stopping') {
      const sentAtMs = performance.now();
      const n = issued++;
      for (;;) {
        try {
          await options.operation(n);
          break;
        } catch (error) {
          if (!isRetryable(error) || (phase as string) === 'stopping') {
            stop();
            throw error;
          }
          retried++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      if (phase === 'measure') latenciesMs.push(performance.now() - sentAtMs);
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: options.inFlight }, slot));
  const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return {
    ops: latenciesMs.length,
    elapsedMs: windowEndMs - windowStartMs,
    latenciesMs: latenciesMs.sort((a, b) => a - b),
    retried,
  };
}

/**
 * A closed loop's operation that runs as whichever of contenders is idle:
 * with inFlight at most contenders.length, one always is, and none runs two
 * operations at once (contenders are taken from and given back to the array).
 */
export function asIdleContender<C>(contenders: C[], run: (contender: C) => Promise<void>): () => Promise<void> {
  const slots = contenders.length;
  return async () => {
    const contender = contenders.pop();
    if (contender === undefined) throw new Error(`more than ${slots} operations in flight`);
    try {
      await run(contender);
    } finally {
      contenders.push(contender);
    }
  };
}

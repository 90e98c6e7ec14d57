// Retries with exponential backoff and full jitter ("Exponential Backoff And
// Jitter", AWS architecture blog), only for errors marked retryable, within
// an attempt bound and the caller's deadline.
import { isRetryable } from '@bulwark/errors';

export interface RetryPolicy {
  /** Total attempts, the first included; at least 1. */
  attemptsMax: number;
  initialBackoffMs: number;
  backoffMsMax: number;
  multiplier: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attemptsMax: 5,
  initialBackoffMs: 50,
  backoffMsMax: 2_000,
  multiplier: 2,
};

export interface RetryEnvironment {
  /** Absolute deadline (ms, same clock as `now`); no retry starts after it. */
  deadline: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  random: () => number;
  shouldRetry?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** The capped exponential bound for the delay after `attempt` (1-based) failed. */
export function backoffCeilingMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.backoffMsMax, policy.initialBackoffMs * policy.multiplier ** (attempt - 1));
}

export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  environment: RetryEnvironment,
): Promise<T> {
  if (!Number.isInteger(policy.attemptsMax) || policy.attemptsMax < 1) {
    throw new RangeError(`attemptsMax must be a positive integer, got ${policy.attemptsMax}`);
  }
  const shouldRetry = environment.shouldRetry ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.attemptsMax || !shouldRetry(error)) throw error;
      const delayMs = Math.floor(environment.random() * backoffCeilingMs(policy, attempt));
      if (environment.now() + delayMs >= environment.deadline) throw error;
      environment.onRetry?.(error, attempt, delayMs);
      await environment.sleep(delayMs);
    }
  }
}

/** The real clock, timers and Math.random, for use outside tests. */
export function realRetryEnvironment(deadlineMs: number): RetryEnvironment {
  return {
    deadline: Date.now() + deadlineMs,
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: Math.random,
  };
}

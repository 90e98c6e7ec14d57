// A bounded wait for what only asking can observe (an election, a failover,
// a group's first primary: none has an event a test can await). Retryable
// failures and a Promise.any with no answer yet count as "not yet".
import { isRetryable } from '@bulwark/errors';

export async function eventually<T>(
  what: string,
  timeoutMs: number,
  attempt: () => Promise<T | undefined>,
  pollMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (error) {
      if (!isRetryable(error) && !(error instanceof AggregateError)) throw error;
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`${what} not within ${timeoutMs} ms; last error: ${String(last)}`);
}

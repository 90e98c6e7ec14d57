import { NotLeaderError, InvalidArgumentError, UnavailableError } from '@bulwark/errors';
import { backoffCeilingMs, withRetry, type RetryEnvironment, type RetryPolicy } from './retry';

const policy: RetryPolicy = { attemptsMax: 5, initialBackoffMs: 100, backoffMsMax: 1_000, multiplier: 2 };

/** A virtual clock: sleeping advances time instantly and records the delay. */
function virtualEnvironment(deadline: number, random = () => 0.5): RetryEnvironment & { delays: number[] } {
  let now = 0;
  const delays: number[] = [];
  return {
    delays,
    deadline,
    now: () => now,
    sleep: async (ms) => {
      delays.push(ms);
      now += ms;
    },
    random,
  };
}

describe('withRetry', () => {
  it('retries retryable errors with capped exponential backoff and full jitter', async () => {
    const environment = virtualEnvironment(100_000);
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 5) throw new UnavailableError('no quorum');
        return 'done';
      },
      policy,
      environment,
    );
    expect(result).toBe('done');
    expect(calls).toBe(5);
    // random() = 0.5 of the ceilings 100, 200, 400, 800.
    expect(environment.delays).toEqual([50, 100, 200, 400]);
  });

  it('caps the ceiling at backoffMsMax', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffCeilingMs(policy, attempt))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('does not retry an error that is not retryable', async () => {
    const environment = virtualEnvironment(100_000);
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new InvalidArgumentError('key', 'must not be empty');
        },
        policy,
        environment,
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(calls).toBe(1);
    expect(environment.delays).toEqual([]);
  });

  it('gives up after attemptsMax and throws the last error', async () => {
    const environment = virtualEnvironment(100_000);
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new NotLeaderError(`c${calls}`);
        },
        policy,
        environment,
      ),
    ).rejects.toThrow('leader is c5');
    expect(calls).toBe(policy.attemptsMax);
  });

  it('never sleeps past the deadline', async () => {
    const environment = virtualEnvironment(250, () => 0.99);
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new UnavailableError('down');
        },
        policy,
        environment,
      ),
    ).rejects.toBeInstanceOf(UnavailableError);
    // 99 ms then 198 ms would reach 297 > 250: the second retry is not attempted.
    expect(environment.delays).toEqual([99]);
    expect(calls).toBe(2);
  });

  it('rejects a policy without attempts', async () => {
    await expect(
      withRetry(async () => 1, { ...policy, attemptsMax: 0 }, virtualEnvironment(1_000)),
    ).rejects.toBeInstanceOf(RangeError);
  });
});

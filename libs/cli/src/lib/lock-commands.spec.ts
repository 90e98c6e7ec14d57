import type { LockState } from '@bulwark/lock-client';
import { inspectFields } from './lock-commands';

const state = (unanswered: string[]): LockState => ({
  memberId: 'lock-1',
  held: true,
  holder: { owner: 'worker-9', token: 7n, remainingTtlMs: 1_500 },
  lastToken: 7n,
  waiters: 2,
  backend: { kind: 'redis', servers: 3, majority: 2, answered: 3 - unanswered.length, faultTolerant: true, unanswered },
});

describe('lock inspect', () => {
  it('prints the holder, the backend and who answered', () => {
    expect(inspectFields('jobs/nightly', state([]))).toEqual([
      ['name', 'jobs/nightly'],
      ['held', 'yes'],
      ['owner', 'worker-9'],
      ['token', '7'],
      ['lease left', '1500 ms'],
      ['last token', '7'],
      ['waiters', '2'],
      ['backend', 'redis: 3 of 3 servers answered, majority 2, fault tolerant'],
      ['answered by', 'lock-1'],
    ]);
  });

  it('names the servers that did not answer, and why, only when some did not', () => {
    const fields = inspectFields('jobs/nightly', state(['lock server redis-2:6379: inspect: not connected (connect)']));
    expect(fields).toContainEqual(['backend', 'redis: 2 of 3 servers answered, majority 2, fault tolerant']);
    expect(fields).toContainEqual(['not answering', 'lock server redis-2:6379: inspect: not connected (connect)']);
  });
});

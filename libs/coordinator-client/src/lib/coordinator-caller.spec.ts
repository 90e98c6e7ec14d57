// The caller against real gRPC servers whose answers each test decides: a
// follower that hints at the leader, a member that is down, one that hangs,
// a leader whose answers get lost.
import { coordinatorV1 } from '@bulwark/contracts';
import {
  BulwarkError,
  CancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  isRetryable,
  NotLeaderError,
  UnavailableError,
} from '@bulwark/errors';
import { rejection } from '@bulwark/errors/testing';
import { createLogger } from '@bulwark/logging';
import { freePort, occurrence } from '@bulwark/testing';
import { startFakeCoordinator, type FakeCoordinator } from '../testing';
import { CoordinatorCaller } from './coordinator-caller';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });
const header = (revision: bigint) => ({
  memberId: 'c2',
  epoch: 0n,
  ballot: undefined,
  revision,
  sequence: 0n,
  groupId: '',
  metricsAddress: '',
});
const member: coordinatorV1.Member = {
  id: 'router-1',
  address: '127.0.0.1:7200',
  role: coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER,
  groupId: '',
  metricsAddress: '',
};
const fastRetry = { initialBackoffMs: 1, backoffMsMax: 5, multiplier: 2 };

describe('CoordinatorCaller', () => {
  let follower: FakeCoordinator;
  let leader: FakeCoordinator;
  /** An address nothing listens on: a coordinator that is down. */
  let down: string;
  const callers: CoordinatorCaller[] = [];
  const callerFor = (coordinators: string[]) => {
    const caller = new CoordinatorCaller({ coordinators, logger });
    callers.push(caller);
    return caller;
  };

  beforeAll(async () => {
    [follower, leader] = await Promise.all([startFakeCoordinator(), startFakeCoordinator()]);
    down = `127.0.0.1:${await freePort()}`;
  });

  beforeEach(() => {
    follower.reset();
    leader.reset();
    follower.answer('registerMember', () => {
      throw new NotLeaderError('c2', leader.address);
    });
  });

  afterEach(() => {
    for (const caller of callers.splice(0)) caller.close();
  });

  afterAll(async () => {
    await Promise.all([follower.stop(), leader.stop()]);
  });

  it('follows a leader hint within one round, then goes straight to the leader', async () => {
    leader.answer('registerMember', () => ({ header: header(7n) }));
    const caller = callerFor([follower.address]);
    const response = await caller.call(
      'registerMember',
      { member, requestId: '' },
      { deadlineMs: 10_000, retry: { attemptsMax: 1 } },
    );
    expect(response.header?.revision).toBe(7n);
    expect(caller.leader).toBe(leader.address);
    const [atFollower] = follower.requests('registerMember');
    const [atLeader] = leader.requests('registerMember');
    // An empty request_id is filled in once, before the first attempt.
    expect(atFollower?.requestId).toMatch(/^[\x21-\x7e]{1,128}$/);
    expect(atLeader?.requestId).toBe(atFollower?.requestId);

    await caller.call('registerMember', { member, requestId: 'second' }, { deadlineMs: 10_000 });
    expect(follower.requests('registerMember')).toHaveLength(1);
    expect(leader.requests('registerMember').map((request) => request.requestId)).toEqual([
      atFollower?.requestId,
      'second',
    ]);
  });

  it('moves on at once from a coordinator that is down', async () => {
    leader.answer('registerMember', () => ({ header: header(8n) }));
    const caller = callerFor([down, leader.address]);
    const response = await caller.call(
      'registerMember',
      { member, requestId: 'r-down' },
      { deadlineMs: 10_000, retry: { attemptsMax: 1 } },
    );
    expect(response.header?.revision).toBe(8n);
    expect(caller.leader).toBe(leader.address);
  });

  it('learns the leader from GetLeader and sends the next change there', async () => {
    follower.answer('getLeader', () => ({ header: header(3n), leaderId: 'c2', leaderAddress: leader.address }));
    leader.answer('createGroup', () => ({ header: header(9n), group: undefined }));
    const caller = callerFor([follower.address, leader.address]);
    const answer = await caller.call('getLeader', {}, { deadlineMs: 10_000 });
    expect(answer.leaderAddress).toBe(leader.address);
    expect(caller.leader).toBe(leader.address);
    // The follower does not serve CreateGroup at all (UNIMPLEMENTED, not retried): only the leader is asked.
    await caller.call(
      'createGroup',
      { groupId: 'g1', members: ['r1'], mode: 0, requestId: 'create-g1' },
      { deadlineMs: 10_000 },
    );
    expect(follower.requests('createGroup')).toHaveLength(0);
    expect(leader.requests('createGroup')).toHaveLength(1);
  });

  it('retries a change whose answer was lost with the same request_id', async () => {
    let answered = 0;
    leader.answer('registerMember', () => {
      answered++;
      if (answered < 3) throw new UnavailableError('answer lost');
      return { header: header(11n) };
    });
    const caller = callerFor([leader.address]);
    const response = await caller.call(
      'registerMember',
      { member, requestId: 'lost-answer' },
      { deadlineMs: 10_000, retry: fastRetry },
    );
    expect(response.header?.revision).toBe(11n);
    expect(leader.requests('registerMember').map((request) => request.requestId)).toEqual([
      'lost-answer',
      'lost-answer',
      'lost-answer',
    ]);
  });

  it('stops at the deadline with DeadlineExceededError, every attempt with the same request_id', async () => {
    leader.answer('registerMember', () => {
      throw new UnavailableError('no quorum');
    });
    const caller = callerFor([down, leader.address]);
    const error = await rejection(
      caller.call(
        'registerMember',
        { member, requestId: '' },
        { deadlineMs: 300, retry: { ...fastRetry, attemptsMax: 1_000_000 } },
      ),
    );
    expect(error).toBeInstanceOf(DeadlineExceededError);
    // The last attempt's error: the member's UNAVAILABLE, or its own deadline cut short by the call's.
    expect(isRetryable((error as Error & { cause?: unknown }).cause)).toBe(true);
    const ids = new Set(leader.requests('registerMember').map((request) => request.requestId));
    expect(ids.size).toBe(1);
  });

  it('does not let an attempt at a hanging coordinator outlive the deadline', async () => {
    leader.answer(
      'registerMember',
      (_request, { shutdown }) =>
        new Promise((_, reject) =>
          shutdown.addEventListener('abort', () => reject(new UnavailableError('stopping')), { once: true }),
        ),
    );
    const caller = callerFor([leader.address]);
    const error = await rejection(
      caller.call('registerMember', { member, requestId: 'hang' }, { deadlineMs: 300, attemptDeadlineMs: 600_000 }),
    );
    expect(error).toBeInstanceOf(DeadlineExceededError);
  });

  it('gives up at once on an error a retry cannot fix', async () => {
    leader.answer('registerMember', () => {
      throw new InvalidArgumentError('member.id', 'must be [a-z0-9-]');
    });
    const caller = callerFor([leader.address]);
    const error = await rejection(caller.call('registerMember', { member, requestId: 'bad' }, { deadlineMs: 10_000 }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(leader.requests('registerMember')).toHaveLength(1);
  });

  it('stops retrying when told, yet lets the attempt in flight finish with its answer', async () => {
    const arrived = occurrence();
    const answered = occurrence();
    leader.answer('registerMember', () => {
      arrived.signal();
      return answered.happened.then(() => ({ header: header(12n) }));
    });
    const caller = callerFor([leader.address]);
    const stop = new AbortController();
    const call = caller.call(
      'registerMember',
      { member, requestId: 'in-flight' },
      { deadlineMs: 10_000, stopRetrying: stop.signal },
    );
    await arrived.happened;
    stop.abort();
    answered.signal();
    expect((await call).header?.revision).toBe(12n);
  });

  it('makes no further attempt once told to stop retrying', async () => {
    const failed = occurrence();
    leader.answer('registerMember', () => {
      setImmediate(failed.signal);
      throw new UnavailableError('no quorum');
    });
    const caller = callerFor([leader.address]);
    const stop = new AbortController();
    const call = rejection(
      caller.call(
        'registerMember',
        { member, requestId: 'stopping' },
        // A long backoff: the stop, not the policy, ends the call.
        { deadlineMs: 10_000, stopRetrying: stop.signal, retry: { initialBackoffMs: 5_000, backoffMsMax: 5_000 } },
      ),
    );
    await failed.happened;
    stop.abort();
    expect(await call).toBeInstanceOf(BulwarkError);
    expect(leader.requests('registerMember')).toHaveLength(1);
  });

  it('cancels a call waiting to retry when closed, and refuses calls after', async () => {
    const attempted = occurrence();
    leader.answer('registerMember', () => {
      attempted.signal();
      throw new UnavailableError('no quorum');
    });
    const caller = callerFor([leader.address]);
    const pending = rejection(
      caller.call(
        'registerMember',
        { member, requestId: 'closing' },
        { deadlineMs: 3_600_000, retry: { attemptsMax: 100, initialBackoffMs: 600_000, backoffMsMax: 600_000 } },
      ),
    );
    await attempted.happened;
    caller.close();
    expect(await pending).toBeInstanceOf(CancelledError);
    expect(await rejection(caller.call('getLeader', {}, { deadlineMs: 1_000 }))).toBeInstanceOf(CancelledError);
  });
});

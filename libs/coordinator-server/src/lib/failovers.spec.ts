// The leader's automatic failover against real gRPC members: whom it
// chooses (GetDurableState: highest last_epoch, then durable_sequence;
// members that do not answer are skipped), the old primary re-appointed at
// the next epoch, nobody answering (no failover, a backoff, a retry), and
// one round per group at a time, shared with the Failover call.
import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { rejection } from '@bulwark/errors/testing';
import type { ReplicaGroup } from '@bulwark/metadata';
import {
  createFakeGroup,
  serveCoordinator,
  serveFakeReplicas,
  type FakeReplicas,
  type ServedCoordinator,
} from '../testing';
import { failoverRetryBackoffMs } from './failovers';

const leaseMs = 600;
const driftMs = 60;

describe('automatic failover', () => {
  let replicas: FakeReplicas;
  let served: ServedCoordinator;
  let epoch: bigint;

  beforeAll(async () => {
    replicas = await serveFakeReplicas(['r1', 'r2', 'r3']);
  });

  afterAll(() => replicas.stop());

  beforeEach(async () => {
    replicas.reset();
    served = await serveCoordinator({ primaryLeaseMs: leaseMs, clockDriftMs: driftMs });
    epoch = await createFakeGroup(served, replicas);
    served.clock.nowMs = 1_000;
    await served.call(served.client.renewPrimaryLease, { groupId: 'g1', memberId: 'r1', epoch, requestId: '' });
    // The primary lease has surely ended from here on.
    served.clock.nowMs = 1_000 + leaseMs + driftMs;
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await served.stop();
  });

  const group = () => served.replica.machine.group('g1') as ReplicaGroup;

  it('fails over to the in-sync member with the highest (last_epoch, durable_sequence), skipping members that do not answer', async () => {
    // r2 has written more, but r3 has entries of a later epoch: r3's log is the more up-to-date.
    replicas.answer({ r1: 'silent', r2: [epoch - 1n, 50n], r3: [epoch, 40n] });
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r3', inSync: ['r2', 'r3'], handoverTarget: '' });
    for (const id of ['r1', 'r2', 'r3']) expect(replicas.get(id).asked).toEqual(['g1']);
  });

  it('breaks a tie by member order', async () => {
    replicas.answer({ r1: 'silent', r2: [epoch, 7n], r3: [epoch, 7n] });
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r2' });
  });

  it('re-appoints the old primary at the next epoch when its log is the most up-to-date, keeping the in-sync set', async () => {
    // It restarted: it must not lead the epoch it led before, so it gets a new one.
    replicas.answer({ r1: [epoch, 12n], r2: [epoch, 11n], r3: 'silent' });
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r1', inSync: ['r1', 'r2', 'r3'] });
    // It renews at the new epoch.
    const renewed = await served.call(served.client.renewPrimaryLease, {
      groupId: 'g1',
      memberId: 'r1',
      epoch: epoch + 1n,
      requestId: '',
    });
    expect(renewed.leaseMs).toBe(leaseMs);
  });

  it('re-appoints the primary when it is the only in-sync member, asking nobody else', async () => {
    await served.call(served.client.updateInSyncSet, {
      groupId: 'g1',
      epoch,
      primaryId: 'r1',
      inSync: ['r1'],
      requestId: '',
    });
    replicas.answer({ r1: [epoch, 3n], r2: [epoch, 99n], r3: [epoch, 99n] });
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r1', inSync: ['r1'] });
    expect([replicas.get('r2').asked, replicas.get('r3').asked]).toEqual([[], []]);
  });

  it('does not fail over while nobody answers, backs off, and fails over on a retry once someone answers', async () => {
    const proposals = served.runner.proposals;
    await served.failovers.check();
    expect(replicas.askedCount()).toBe(3);
    expect(served.runner.proposals).toBe(proposals);
    expect(group()).toMatchObject({ epoch, primary: 'r1' });
    // Within the backoff the dead group is not asked again.
    await served.failovers.check();
    served.clock.nowMs += failoverRetryBackoffMs.initial - 1;
    await served.failovers.check();
    expect(replicas.askedCount()).toBe(3);
    // The next try waits twice as long after a second failure.
    served.clock.nowMs += 1;
    await served.failovers.check();
    expect(replicas.askedCount()).toBe(6);
    served.clock.nowMs += 2 * failoverRetryBackoffMs.initial - 1;
    await served.failovers.check();
    expect(replicas.askedCount()).toBe(6);
    replicas.answer({ r3: [epoch, 1n] });
    served.clock.nowMs += 1;
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r3', inSync: ['r2', 'r3'] });
  });

  it('answers a Failover call without a target by the durable states too, and UNAVAILABLE while nobody answers', async () => {
    const request = { groupId: 'g1', expectedEpoch: epoch, targetPrimary: '', requestId: 'failover-by-state' };
    const unanswered = await rejection(served.call(served.client.failover, request));
    expect(unanswered).toBeInstanceOf(UnavailableError);
    expect(unanswered.message).toContain('GetDurableState');
    replicas.answer({ r2: [epoch, 4n], r3: [epoch, 5n] });
    const moved = await served.call(served.client.failover, request);
    expect(moved.group).toMatchObject({ epoch: epoch + 1n, primary: 'r3', inSync: ['r2', 'r3'] });
    // A retry of the same request is answered with its outcome.
    expect(await served.call(served.client.failover, request)).toEqual(moved);
  });

  it('runs one round per group at a time: a second check skips it, and a Failover call waits for it', async () => {
    replicas.get('r2').behaviour = { type: 'held', answer: { lastEpoch: epoch, durableSequence: 8n } };
    replicas.answer({ r1: 'silent', r3: [epoch, 7n] });
    const asked = replicas.get('r2').nextCall();
    const first = served.failovers.check();
    await asked;
    await served.failovers.check();
    expect(replicas.get('r2').asked).toEqual(['g1']);
    // The call's decision waits for the round in flight (or it would fail over to r3 now), then finds the epoch moved.
    const exclusive = served.failovers.exclusive.bind(served.failovers);
    const callWaits = new Promise<void>((resolve) => {
      jest.spyOn(served.failovers, 'exclusive').mockImplementation((groupId, round) => {
        resolve();
        return exclusive(groupId, round);
      });
    });
    const call = rejection(
      served.call(served.client.failover, { groupId: 'g1', expectedEpoch: epoch, targetPrimary: 'r3', requestId: '' }),
    );
    await callWaits;
    expect(group()).toMatchObject({ epoch, primary: 'r1' });
    replicas.get('r2').release();
    await first;
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r2' });
    const error = await call;
    expect([error.constructor, error.details.field]).toEqual([FailedPreconditionError, 'expected_epoch']);
  });

  it('does nothing on a member that does not lead, or leads without having applied what earlier leaders committed', async () => {
    replicas.answer({ r2: [epoch, 1n] });
    served.runner.barrierApplied = false;
    await served.failovers.check();
    served.runner.barrierApplied = true;
    served.runner.node.role = 'follower';
    await served.failovers.check();
    expect(replicas.askedCount()).toBe(0);
    expect(group()).toMatchObject({ epoch, primary: 'r1' });
  });
});

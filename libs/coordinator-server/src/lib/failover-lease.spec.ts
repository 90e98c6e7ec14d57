// A failover waits out the old primary's lease on the leader's monotonic
// clock only: lease + drift from when the leader applied the last grant or
// became leader, whichever is later (a new epoch: from when it began).
// Wall clocks, however wrong, play no part; a grant committed after the
// decision cancels the failover at apply, and it is decided again.
import { FailedPreconditionError } from '@bulwark/errors';
import { rejection } from '@bulwark/errors/testing';
import type { ReplicaGroup } from '@bulwark/metadata';
import {
  createFakeGroup,
  serveCoordinator,
  serveFakeReplicas,
  type FakeReplicas,
  type ServedCoordinator,
} from '../testing';
import { encodeCommand } from './command-codec';

const leaseMs = 5_000;
const driftMs = 500;
const hourMs = 3_600_000;

describe('failover and the old primary lease', () => {
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
    // The primary is gone; r2 has the most up-to-date log of the others.
    replicas.answer({ r1: 'silent', r2: [epoch, 10n], r3: [epoch, 9n] });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await served.stop();
  });

  const group = () => served.replica.machine.group('g1') as ReplicaGroup;
  const renew = (memberId = 'r1', atEpoch = epoch) =>
    served.call(served.client.renewPrimaryLease, { groupId: 'g1', memberId, epoch: atEpoch, requestId: '' });
  const failover = (targetPrimary = 'r2') =>
    served.call(served.client.failover, { groupId: 'g1', expectedEpoch: epoch, targetPrimary, requestId: '' });

  /** One automatic check at `nowMs` that must not fail the group over, nor propose anything. */
  async function expectNoFailoverAt(nowMs: number): Promise<void> {
    served.clock.nowMs = nowMs;
    const proposals = served.runner.proposals;
    await served.failovers.check();
    expect(served.runner.proposals).toBe(proposals);
    expect(group()).toMatchObject({ epoch, primary: 'r1' });
  }

  /** One automatic check at `nowMs` that fails the group over to r2. */
  async function expectFailoverAt(nowMs: number): Promise<void> {
    served.clock.nowMs = nowMs;
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r2', inSync: ['r2', 'r3'] });
  }

  it('does not fail over before lease + drift of monotonic time, though the wall clock jumps hours ahead right after a renewal', async () => {
    served.clock.nowMs = 10_000;
    await renew();
    const wallMs = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(wallMs + 5 * hourMs);
    await expectNoFailoverAt(10_000);
    await expectNoFailoverAt(10_000 + leaseMs + driftMs - 1);
    expect(replicas.askedCount()).toBe(0);
    await expectFailoverAt(10_000 + leaseMs + driftMs);
  });

  it('counts from when it became leader when that is later than the grant: a new leader cannot know what was granted before', async () => {
    served.clock.nowMs = 1_000;
    await renew();
    served.runner.leaderSince = 60_000;
    await expectNoFailoverAt(60_000);
    await expectNoFailoverAt(60_000 + leaseMs + driftMs - 1);
    await expectFailoverAt(60_000 + leaseMs + driftMs);
  });

  it('never fails over while renewals keep coming, and does once they stop, lease + drift after the last', async () => {
    let nowMs = 1_000;
    // Three lease lengths of renewals every 100 ms, each followed by a check.
    for (; nowMs < 1_000 + 3 * leaseMs; nowMs += 100) {
      served.clock.nowMs = nowMs;
      await renew();
      await expectNoFailoverAt(nowMs + 99);
    }
    const lastGrantMs = nowMs - 100;
    expect(replicas.askedCount()).toBe(0);
    await expectNoFailoverAt(lastGrantMs + leaseMs + driftMs - 1);
    await expectFailoverAt(lastGrantMs + leaseMs + driftMs);
  });

  it('gives a new epoch one lease length to renew in before it can be failed over, and so a group just failed over', async () => {
    // Created at 0, never renewed.
    await expectNoFailoverAt(leaseMs + driftMs - 1);
    await expectFailoverAt(leaseMs + driftMs);
    // Epoch + 1 began just now: nobody renewed it either, but it gets its lease length too.
    const moved = group();
    replicas.answer({ r2: 'silent', r3: [epoch, 9n] });
    await served.failovers.check();
    served.clock.nowMs = 2 * (leaseMs + driftMs) - 1;
    await served.failovers.check();
    expect(group()).toBe(moved);
    served.clock.nowMs = 2 * (leaseMs + driftMs);
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch: moved.epoch + 1n, primary: 'r3', inSync: ['r3'] });
  });

  it('fails a group over at once on a Failover call while its primary holds no lease at this epoch', async () => {
    served.runner.leaderSince = 1_000;
    served.clock.nowMs = 1_000;
    expect((await failover()).group).toMatchObject({ epoch: epoch + 1n, primary: 'r2', handoverTarget: '' });
  });

  it('refuses at apply a failover that a grant committed between its decision and its apply, and decides again with the new grant', async () => {
    served.clock.nowMs = 1_000;
    await renew();
    served.clock.nowMs = 1_000 + leaseMs + driftMs;
    // The primary's renewal reaches the log first (another call's entry).
    const renewedFirst = () => {
      served.runner.beforeCommit = undefined;
      served.runner.commit(encodeCommand({ type: 'renewPrimaryLease', groupId: 'g1', memberId: 'r1', epoch, leaseMs }));
    };
    served.runner.beforeCommit = renewedFirst;
    const proposals = served.runner.proposals;
    await served.failovers.check();
    expect(served.runner.proposals).toBe(proposals + 1);
    expect(group()).toMatchObject({ epoch, primary: 'r1' });
    // Decided again: the new grant counts from now, so no round starts until it has run out.
    const asked = replicas.askedCount();
    await expectNoFailoverAt(1_000 + leaseMs + driftMs);
    await expectNoFailoverAt(1_000 + 2 * (leaseMs + driftMs) - 1);
    expect(replicas.askedCount()).toBe(asked);
    await expectFailoverAt(1_000 + 2 * (leaseMs + driftMs));
  });

  it('answers a Failover call that such a grant overtook with a retryable refusal; its retry then hands over', async () => {
    served.clock.nowMs = 1_000;
    await renew();
    served.clock.nowMs = 1_000 + leaseMs + driftMs;
    served.runner.beforeCommit = () => {
      served.runner.beforeCommit = undefined;
      served.runner.commit(encodeCommand({ type: 'renewPrimaryLease', groupId: 'g1', memberId: 'r1', epoch, leaseMs }));
    };
    const error = await rejection(failover());
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect([error.details.field, error.retryable]).toEqual(['expected_primary_lease_revision', true]);
    expect(group()).toMatchObject({ epoch, primary: 'r1', handoverTarget: '' });
    // Retried, it finds the lease held again: a handover, completed once that lease has ended.
    const retried = failover();
    await served.until(() => group().handoverTarget === 'r2');
    await served.failovers.idle();
    await expectNoFailoverAt(1_000 + 2 * (leaseMs + driftMs) - 1);
    await expectFailoverAt(1_000 + 2 * (leaseMs + driftMs));
    expect((await retried).group).toMatchObject({ epoch: epoch + 1n, primary: 'r2' });
  });

  it('deletes a group only once its primary lease has surely ended: its keys could be served elsewhere next', async () => {
    served.clock.nowMs = 1_000;
    await renew();
    const deleteGroup = () => served.call(served.client.deleteGroup, { groupId: 'g1', requestId: '' });
    const proposals = served.runner.proposals;
    const error = await rejection(deleteGroup());
    expect([error.details.field, error.retryable]).toEqual(['primary_lease_revision', true]);
    expect(served.runner.proposals).toBe(proposals);
    served.clock.nowMs = 1_000 + leaseMs + driftMs;
    await deleteGroup();
    expect(served.replica.machine.topology.groups).toEqual([]);
  });
});

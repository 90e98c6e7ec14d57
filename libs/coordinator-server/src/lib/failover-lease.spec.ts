// Failover waits out the old primary's lease on the leader's monotonic
// clock only: lease + drift from when the leader applied the last grant or
// became leader, whichever is later. Wall clocks, however wrong, play no
// part; a grant committed after the decision cancels the failover at apply.
import { coordinatorV1 } from '@bulwark/contracts';
import { FailedPreconditionError } from '@bulwark/errors';
import { serveCoordinator, type ServedCoordinator } from '../testing';
import { encodeCommand } from './command-codec';
import { rejection } from '@bulwark/errors/testing';

const leaseMs = 5_000;
const driftMs = 500;
const hourMs = 3_600_000;

describe('Failover and the old primary lease', () => {
  let served: ServedCoordinator;
  let epoch: bigint;

  beforeEach(async () => {
    served = await serveCoordinator({ primaryLeaseMs: leaseMs, clockDriftMs: driftMs });
    const { call, client } = served;
    for (const id of ['r1', 'r2', 'r3']) {
      const member = { id, address: `${id}:7100`, role: coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA, groupId: 'g1' };
      await call(client.registerMember, { member, requestId: '' });
    }
    const created = await call(client.createGroup, {
      groupId: 'g1',
      members: ['r1', 'r2', 'r3'],
      mode: coordinatorV1.ReplicationMode.REPLICATION_MODE_SYNC,
      requestId: '',
    });
    epoch = created.group?.epoch as bigint;
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await served.stop();
  });

  const renew = () =>
    served.call(served.client.renewPrimaryLease, { groupId: 'g1', memberId: 'r1', epoch, requestId: '' });
  const failover = () =>
    served.call(served.client.failover, { groupId: 'g1', expectedEpoch: epoch, targetPrimary: 'r2', requestId: '' });

  async function expectLeaseHeld(): Promise<void> {
    const proposals = served.runner.proposals;
    const error = await rejection(failover());
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect([error.details.field, error.retryable]).toEqual(['primary_lease_revision', true]);
    // Refused before proposing: no Paxos commit.
    expect(served.runner.proposals).toBe(proposals);
  }

  it('does not commit before lease + drift of monotonic time, though the wall clock jumps hours ahead right after a renewal', async () => {
    served.clock.nowMs = 10_000;
    await renew();
    const wallMs = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(wallMs + 5 * hourMs);
    await expectLeaseHeld();
    served.clock.nowMs = 10_000 + leaseMs + driftMs - 1;
    await expectLeaseHeld();
    served.clock.nowMs = 10_000 + leaseMs + driftMs;
    const moved = await failover();
    expect(moved.group).toMatchObject({ epoch: epoch + 1n, primary: 'r2', inSync: ['r2', 'r3'] });
  });

  it('counts from when it became leader when that is later than the grant: a new leader cannot know what was granted before', async () => {
    served.clock.nowMs = 1_000;
    await renew();
    served.runner.leaderSince = 60_000;
    served.clock.nowMs = 60_000;
    await expectLeaseHeld();
    served.clock.nowMs = 60_000 + leaseMs + driftMs - 1;
    await expectLeaseHeld();
    served.clock.nowMs = 60_000 + leaseMs + driftMs;
    expect((await failover()).group?.epoch).toBe(epoch + 1n);
  });

  it('counts from the latest grant: a renewal restarts the wait', async () => {
    served.clock.nowMs = 1_000;
    await renew();
    served.clock.nowMs = 1_000 + leaseMs;
    await renew();
    served.clock.nowMs = 1_000 + leaseMs + leaseMs + driftMs - 1;
    await expectLeaseHeld();
    served.clock.nowMs += 1;
    expect((await failover()).group?.epoch).toBe(epoch + 1n);
  });

  it('fails a group over at once while its primary holds no lease at this epoch', async () => {
    served.runner.leaderSince = 1_000;
    served.clock.nowMs = 1_000;
    expect((await failover()).group?.epoch).toBe(epoch + 1n);
  });

  it('refuses at apply, retryably, a failover that a grant committed between its proposal and its apply', async () => {
    served.clock.nowMs = 1_000;
    await renew();
    served.clock.nowMs = 1_000 + leaseMs + driftMs;
    // The primary's renewal reaches the log first (another call's entry).
    served.runner.beforeCommit = () => {
      served.runner.beforeCommit = undefined;
      served.runner.commit(encodeCommand({ type: 'renewPrimaryLease', groupId: 'g1', memberId: 'r1', epoch, leaseMs }));
    };
    const error = await rejection(failover());
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect([error.details.field, error.retryable]).toEqual(['expected_primary_lease_revision', true]);
    expect(served.replica.machine.topology.groups[0]).toMatchObject({ epoch, primary: 'r1' });
    // Decided again, the leader waits out the new grant.
    await expectLeaseHeld();
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

// Failover on a healthy group: the primary may still hold its lease, so
// the call marks a handover instead of deposing it. Renewals at that epoch
// are refused from then on, the lease runs out on the leader's clock, the
// automatic failover moves the group to the target, and the call answers
// with the new group; at the new epoch the new primary renews as usual.
import { DeadlineExceededError, FailedPreconditionError } from '@bulwark/errors';
import { rejection } from '@bulwark/errors/testing';
import type { ReplicaGroup } from '@bulwark/metadata';
import { callUnary } from '@bulwark/rpc';
import {
  createFakeGroup,
  serveCoordinator,
  serveFakeReplicas,
  type FakeReplicas,
  type ServedCoordinator,
} from '../testing';

const leaseMs = 600;
const driftMs = 60;
const grantedAtMs = 1_000;
const leaseEndMs = grantedAtMs + leaseMs + driftMs;

describe('Failover on a healthy group: a handover', () => {
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
    served.clock.nowMs = grantedAtMs;
    await renew('r1', epoch);
    replicas.answer({ r1: [epoch, 20n], r2: [epoch, 19n], r3: [epoch, 18n] });
  });

  afterEach(() => served.stop());

  const group = () => served.replica.machine.group('g1') as ReplicaGroup;
  function renew(memberId: string, atEpoch: bigint) {
    return served.call(served.client.renewPrimaryLease, { groupId: 'g1', memberId, epoch: atEpoch, requestId: '' });
  }
  /** Waits for the handover mark, and for the round of the call that made it to end. */
  async function marked(target: string): Promise<void> {
    await served.until(() => group().handoverTarget === target);
    await served.failovers.idle();
  }
  const failover = (targetPrimary: string, requestId = '') =>
    served.call(served.client.failover, { groupId: 'g1', expectedEpoch: epoch, targetPrimary, requestId });

  it('refuses renewals at the epoch once marked, completes once the lease has ended, and answers with the new group', async () => {
    const call = failover('r2');
    await marked('r2');
    expect(group()).toMatchObject({ epoch, primary: 'r1' });
    const refused = await rejection(renew('r1', epoch));
    expect(refused).toBeInstanceOf(FailedPreconditionError);
    expect([refused.details.field, refused.retryable]).toEqual(['handover_target', true]);
    expect(refused.message).toContain("handing over to 'r2'");
    // The lease granted before the mark still runs: no failover until it has surely ended.
    served.clock.nowMs = leaseEndMs - 1;
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch, primary: 'r1' });
    served.clock.nowMs = leaseEndMs;
    await served.failovers.check();
    // r1's log is the longest, but the handover goes to its target.
    const next = { epoch: epoch + 1n, primary: 'r2', inSync: ['r2', 'r3'], handoverTarget: '' };
    expect(group()).toMatchObject(next);
    const answered = await call;
    expect(answered.group).toMatchObject(next);
    expect(answered.header?.revision).toBe(served.replica.machine.revision);
    // At the new epoch the new primary renews; the old one learns it was replaced.
    expect((await renew('r2', epoch + 1n)).leaseMs).toBe(leaseMs);
    const deposed = await rejection(renew('r1', epoch));
    expect([deposed.details.field, deposed.retryable]).toEqual(['epoch', false]);
  });

  it('without a target hands over to the most up-to-date other in-sync member, though the primary is more up to date', async () => {
    replicas.answer({ r2: [epoch, 18n], r3: [epoch, 19n] });
    const call = failover('');
    await marked('r3');
    expect(replicas.get('r1').asked).toEqual([]);
    served.clock.nowMs = leaseEndMs;
    await served.failovers.check();
    expect((await call).group).toMatchObject({ epoch: epoch + 1n, primary: 'r3', inSync: ['r2', 'r3'] });
  });

  it('joins a handover under way on a retry or another call without a target, and refuses another target', async () => {
    const first = failover('r2', 'handover-1');
    await marked('r2');
    const retried = failover('r2', 'handover-1');
    const joined = failover('');
    const other = await rejection(failover('r3'));
    expect([other.constructor, other.details.field]).toEqual([FailedPreconditionError, 'target_primary']);
    served.clock.nowMs = leaseEndMs;
    await served.failovers.check();
    const answers = await Promise.all([first, retried, joined]);
    for (const answer of answers) expect(answer.group).toMatchObject({ epoch: epoch + 1n, primary: 'r2' });
    expect(group().epoch).toBe(epoch + 1n);
  });

  it('still completes after the call gave up at its deadline', async () => {
    const call = rejection(
      callUnary(
        served.client,
        served.client.failover,
        { groupId: 'g1', expectedEpoch: epoch, targetPrimary: 'r3', requestId: '' },
        { deadlineMs: 300 },
      ),
    );
    await marked('r3');
    expect(await call).toBeInstanceOf(DeadlineExceededError);
    served.clock.nowMs = leaseEndMs;
    await served.failovers.check();
    expect(group()).toMatchObject({ epoch: epoch + 1n, primary: 'r3', handoverTarget: '' });
  });

  it('fails over by durable state when the target no longer answers once the lease has ended', async () => {
    const call = failover('r2');
    await marked('r2');
    replicas.answer({ r1: 'silent', r2: 'silent', r3: [epoch, 18n] });
    served.clock.nowMs = leaseEndMs;
    await served.failovers.check();
    expect((await call).group).toMatchObject({ epoch: epoch + 1n, primary: 'r3', inSync: ['r2', 'r3'] });
  });

  it('refuses a handover to the primary itself, and one with no other in-sync member, proposing nothing', async () => {
    const proposals = served.runner.proposals;
    const self = await rejection(failover('r1'));
    expect([self.constructor, self.details.field]).toEqual([FailedPreconditionError, 'target_primary']);
    expect(served.runner.proposals).toBe(proposals);
    await served.call(served.client.updateInSyncSet, {
      groupId: 'g1',
      epoch,
      primaryId: 'r1',
      inSync: ['r1'],
      requestId: '',
    });
    const alone = await rejection(failover(''));
    expect([alone.constructor, alone.details.field]).toEqual([FailedPreconditionError, 'target_primary']);
    expect(group().handoverTarget).toBe('');
  });
});

// coordinator.v1 over a real MetadataReplica: retries with a request_id are
// answered, not applied again; requests are checked before anything is
// proposed, so a refused call costs no Paxos commit; every field of the
// calls that propose nothing is checked too.
import { coordinatorV1 } from '@bulwark/contracts';
import {
  AlreadyExistsError,
  BulwarkError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from '@bulwark/errors';
import { topologyMembersMax } from '@bulwark/metadata';
import { serveCoordinator, type ServedCoordinator } from '../testing';
import { encodeCommand } from './command-codec';
import { rejection } from '@bulwark/errors/testing';

const { MemberRole, ReplicationMode } = coordinatorV1;
const mebibyte = 1024 * 1024;

const replica = (id: string, groupId = 'g1'): coordinatorV1.Member => ({
  id,
  address: `${id}:7100`,
  role: MemberRole.MEMBER_ROLE_REPLICA,
  groupId,
  metricsAddress: '',
});

describe('coordinator.v1 service', () => {
  let served: ServedCoordinator;
  let epoch: bigint;

  beforeEach(async () => {
    served = await serveCoordinator();
    const { call, client } = served;
    for (const id of ['r1', 'r2', 'r3']) await call(client.registerMember, { member: replica(id), requestId: '' });
    const created = await call(client.createGroup, {
      groupId: 'g1',
      members: ['r1', 'r2', 'r3'],
      mode: ReplicationMode.REPLICATION_MODE_SYNC,
      requestId: '',
    });
    epoch = created.group?.epoch as bigint;
  });

  afterEach(() => served.stop());

  /** Asserts the call is refused with `type` naming `field`, and that nothing was proposed for it. */
  async function expectRefusedUnproposed(
    promise: Promise<unknown>,
    type: abstract new (...args: never[]) => BulwarkError,
    field: string,
  ): Promise<void> {
    const proposals = served.runner.proposals;
    const error = await rejection(promise);
    expect([error.name, error.details.field]).toEqual([type.name, field]);
    expect(served.runner.proposals).toBe(proposals);
  }

  describe('retries with a request_id', () => {
    // An explicit target: no member serves GetDurableState here (failovers.spec.ts covers choosing).
    const failover = (requestId: string, targetPrimary = 'r2') =>
      served.call(served.client.failover, { groupId: 'g1', expectedEpoch: epoch, targetPrimary, requestId });

    it('apply a double Failover once, and both calls get the same answer', async () => {
      const first = await failover('failover-1');
      const proposals = served.runner.proposals;
      const second = await failover('failover-1');
      expect(second).toEqual(first);
      expect(first.group).toMatchObject({ epoch: epoch + 1n, primary: 'r2', inSync: ['r2', 'r3'] });
      // Answered from the remembered outcome: no second proposal.
      expect(served.runner.proposals).toBe(proposals);
      expect(served.replica.machine.topology.groups[0]).toMatchObject({ epoch: epoch + 1n, inSync: ['r2', 'r3'] });
    });

    it('answer a retry that reaches the log again (proposed by another leader first) with the first outcome', async () => {
      // The first attempt's entry commits while the caller times out; the retry is proposed as a new entry.
      const request = { groupId: 'g1', expectedEpoch: epoch, targetPrimary: 'r2', requestId: 'failover-2' };
      const first = await served.call(served.client.failover, request);
      const committedAgain = served.runner.commit(
        encodeCommand(
          { type: 'failover', groupId: 'g1', expectedEpoch: epoch, newPrimary: 'r3', expectedPrimaryLeaseRevision: 0n },
          served.replica.machine.rememberedRequests[0],
        ),
      );
      expect(committedAgain.revision).toBe(first.header?.revision);
      expect(committedAgain.events).toEqual([]);
      expect(served.replica.machine.topology.groups[0]?.epoch).toBe(epoch + 1n);
    });

    it('refuse another request under a used request_id as ALREADY_EXISTS naming request_id', async () => {
      await failover('failover-3', 'r2');
      await expectRefusedUnproposed(failover('failover-3', 'r3'), AlreadyExistsError, 'request_id');
      const register = served.call(served.client.registerMember, { member: replica('r9'), requestId: 'failover-3' });
      await expectRefusedUnproposed(register, AlreadyExistsError, 'request_id');
    });

    it('refuse a Failover without expected_epoch, even with a request_id, and a malformed request_id', async () => {
      const unfenced = served.call(served.client.failover, {
        groupId: 'g1',
        expectedEpoch: 0n,
        targetPrimary: '',
        requestId: 'failover-unfenced',
      });
      await expectRefusedUnproposed(unfenced, InvalidArgumentError, 'expected_epoch');
      for (const requestId of ['has space', 'x'.repeat(129), 'é']) {
        await expectRefusedUnproposed(failover(requestId), InvalidArgumentError, 'request_id');
      }
    });
  });

  describe('checks before proposing', () => {
    it('answers UNAVAILABLE, proposing nothing, while a new leader has not applied what earlier leaders committed', async () => {
      await served.call(served.client.updateInSyncSet, {
        groupId: 'g1',
        epoch,
        primaryId: 'r1',
        inSync: ['r1', 'r2'],
        requestId: 'shrink-1',
      });
      // Leadership changes; until the barrier is applied, even a remembered retry is not answered from this state.
      served.runner.barrierApplied = false;
      const proposals = served.runner.proposals;
      const retry = await rejection(
        served.call(served.client.updateInSyncSet, {
          groupId: 'g1',
          epoch,
          primaryId: 'r1',
          inSync: ['r1', 'r2'],
          requestId: 'shrink-1',
        }),
      );
      expect([retry.kind, retry.retryable]).toEqual(['unavailable', true]);
      expect(served.runner.proposals).toBe(proposals);
    });

    it('refuses what the applied state refuses, without a Paxos commit', async () => {
      const { call, client } = served;
      await expectRefusedUnproposed(
        call(client.registerMember, { member: { ...replica('r9'), address: 'r1:7100' }, requestId: '' }),
        AlreadyExistsError,
        'member.address',
      );
      await expectRefusedUnproposed(
        call(client.failover, { groupId: 'g9', expectedEpoch: 1n, targetPrimary: '', requestId: '' }),
        NotFoundError,
        'group_id',
      );
      await expectRefusedUnproposed(
        call(client.failover, { groupId: 'g1', expectedEpoch: epoch + 1n, targetPrimary: '', requestId: '' }),
        FailedPreconditionError,
        'expected_epoch',
      );
      await expectRefusedUnproposed(
        call(client.renewPrimaryLease, { groupId: 'g1', memberId: 'r1', epoch: epoch - 1n, requestId: '' }),
        FailedPreconditionError,
        'epoch',
      );
      await expectRefusedUnproposed(
        call(client.setRing, {
          expectedVersion: 3n,
          virtualNodesPerWeight: 0,
          groups: [{ groupId: 'g1', weight: 1 }],
          requestId: '',
        }),
        FailedPreconditionError,
        'expected_version',
      );
    });

    it('refuses a registration once topologyMembersMax members are registered, without a Paxos commit', async () => {
      for (let index = served.replica.machine.topology.members.length; index < topologyMembersMax; index++) {
        served.runner.commit(
          encodeCommand({
            type: 'registerMember',
            member: { id: `m${index}`, address: `m${index}:1`, role: 'router', groupId: '', metricsAddress: '' },
          }),
        );
      }
      await expectRefusedUnproposed(
        served.call(served.client.registerMember, { member: replica('one-more'), requestId: '' }),
        ResourceExhaustedError,
        'topologyMembersMax',
      );
    });

    it.each<[string, (id: string) => coordinatorV1.RegisterMemberRequest]>([
      ['member.id', (big) => ({ member: { ...replica('r9'), id: big }, requestId: '' })],
      ['member.address', (big) => ({ member: { ...replica('r9'), address: `${big}:1` }, requestId: '' })],
      ['member.group_id', (big) => ({ member: replica('r9', big), requestId: '' })],
      ['request_id', (big) => ({ member: replica('r9'), requestId: big })],
    ])('refuses a 1 MiB %s as INVALID_ARGUMENT without proposing', async (field, build) => {
      const big = 'a'.repeat(mebibyte);
      await expectRefusedUnproposed(served.call(served.client.registerMember, build(big)), InvalidArgumentError, field);
    });

    it('refuses oversized lists of every mutating request without proposing', async () => {
      const { call, client } = served;
      const many = Array.from({ length: 100_000 }, (_, index) => `r${index}`);
      await expectRefusedUnproposed(
        call(client.createGroup, { groupId: 'g2', members: many, mode: 0, requestId: '' }),
        InvalidArgumentError,
        'members',
      );
      await expectRefusedUnproposed(
        call(client.setRing, {
          expectedVersion: 0n,
          virtualNodesPerWeight: 0,
          groups: many.map((groupId) => ({ groupId, weight: 1 })),
          requestId: '',
        }),
        InvalidArgumentError,
        'groups',
      );
      await expectRefusedUnproposed(
        call(client.updateInSyncSet, { groupId: 'g1', epoch, primaryId: 'r1', inSync: many, requestId: '' }),
        InvalidArgumentError,
        'in_sync',
      );
    });
  });

  describe('ReportSuspect', () => {
    const report = (overrides: Partial<coordinatorV1.ReportSuspectRequest>) =>
      served.call(served.client.reportSuspect, { reporterId: 'monitor-1', suspectId: 'r2', phi: 8.5, ...overrides });

    it('answers a well-formed report about a backup on the leader without a failover', async () => {
      expect((await report({})).failoverStarted).toBe(false);
    });

    it.each<[string, Partial<coordinatorV1.ReportSuspectRequest>]>([
      ['reporter_id', { reporterId: '' }],
      ['reporter_id', { reporterId: 'a'.repeat(5 * mebibyte) }],
      ['reporter_id', { reporterId: 'Monitor_1' }],
      ['suspect_id', { suspectId: '' }],
      ['suspect_id', { suspectId: 'r'.repeat(65) }],
      ['phi', { phi: Number.NaN }],
      ['phi', { phi: -1 }],
      ['phi', { phi: Number.POSITIVE_INFINITY }],
    ])('refuses a bad input as INVALID_ARGUMENT naming %s', async (field, overrides) => {
      const error = await rejection(report(overrides));
      expect([error.name, error.details.field]).toEqual(['InvalidArgumentError', field]);
    });
  });
});

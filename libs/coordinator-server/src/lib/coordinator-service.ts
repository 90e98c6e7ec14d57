// coordinator.v1.Coordinator over the replicated metadata. Changes are
// proposed through Paxos by the leader (a follower answers
// FAILED_PRECONDITION with a leader hint) after the checks of
// change-proposer.ts; Failover takes the automatic failover's path
// (failover-request.ts); GetTopology is answered by the leader under its
// lease; WatchTopology is served by any member from the state it has applied.
import type { Deadline } from '@grpc/grpc-js';
import { coordinatorV1, type commonV1 } from '@bulwark/contracts';
import { memberRoleName } from '@bulwark/coordinator-client';
import { FailedPreconditionError, InvalidArgumentError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { checkId, type DeleteGroupCommand } from '@bulwark/metadata';
import type { HandlerKit, ServiceBinding } from '@bulwark/rpc';
import { ChangeProposer, type CoordinatorRunner } from './change-proposer';
import { requestFailover } from './failover-request';
import type { Failovers } from './failovers';
import { suspectProbeDeadlineMs, type MemberProbe } from './member-probe';
import type { MetadataReplica } from './metadata-replica';
import { requestKeyOf } from './request-key';
import { groupToProto, modeFromProto, ringToProto, topologyToProto } from './topology-codec';
import { watchTopologyHandler, type WatchLimits } from './watch-topology';

export interface CoordinatorServiceOptions {
  memberId: string;
  /** How far watchers may fall behind; the defaults unless a test sets them. */
  watchLimits?: WatchLimits;
  runner: CoordinatorRunner;
  replica: MetadataReplica;
  logger: Logger;
  addresses: ReadonlyMap<string, string>;
  /** Primary lease granted by RenewPrimaryLease. */
  primaryLeaseMs: number;
  /** The automatic failover over the same runner and replica: Failover and DeleteGroup share its rounds and gate. */
  failovers: Failovers;
  /** The leader's own probe of a suspect primary before ReportSuspect fails it over. */
  memberProbe: MemberProbe;
}

/**
 * How long the caller's deadline leaves, in ms. grpc-js turns the caller's
 * timeout into a wall-clock Date on arrival; it only bounds a wait here,
 * no lease decision rests on it.
 */
function msUntil(deadline: Deadline): number {
  const atMs = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(atMs) ? atMs - Date.now() : Number.POSITIVE_INFINITY;
}

const {
  CreateGroupRequest,
  DeleteGroupRequest,
  DeregisterMemberRequest,
  FailoverRequest,
  RegisterMemberRequest,
  RenewPrimaryLeaseRequest,
  SetRingRequest,
  UpdateInSyncSetRequest,
} = coordinatorV1;

export function coordinatorService(kit: HandlerKit, options: CoordinatorServiceOptions): ServiceBinding {
  const { runner, replica, failovers } = options;
  const proposer = new ChangeProposer(runner, replica);

  const header = (revision: bigint): commonV1.ResponseHeader => ({
    memberId: options.memberId,
    epoch: 0n,
    ballot: runner.node.promisedBallot,
    revision,
    sequence: 0n,
    groupId: '',
  });

  const implementation: coordinatorV1.CoordinatorServer = {
    getLeader: kit.unary(() => {
      const leaderId = runner.node.leaderId ?? '';
      return {
        header: header(replica.machine.revision),
        leaderId,
        leaderAddress: options.addresses.get(leaderId) ?? '',
      };
    }),

    getTopology: kit.unary(() => {
      if (!runner.canReadLocally()) throw runner.notLeader();
      const topology = replica.machine.topology;
      return { header: header(topology.revision), topology: topologyToProto(topology) };
    }),

    watchTopology: watchTopologyHandler(kit, replica, header, options.watchLimits),

    registerMember: kit.unary(async (request) => {
      const key = requestKeyOf('RegisterMember', RegisterMemberRequest, request);
      const member = request.member;
      if (!member) throw new InvalidArgumentError('member', 'is required');
      const role = memberRoleName(member.role);
      if (!role) throw new InvalidArgumentError('member.role', 'must be a known MEMBER_ROLE_*, not unspecified');
      const { revision } = await proposer.change(
        {
          decide: () => ({
            type: 'registerMember',
            member: {
              id: member.id,
              address: member.address,
              role,
              groupId: member.groupId,
              metricsAddress: member.metricsAddress,
            },
          }),
        },
        key,
      );
      return { header: header(revision) };
    }),

    deregisterMember: kit.unary(async (request) => {
      const key = requestKeyOf('DeregisterMember', DeregisterMemberRequest, request);
      const memberId = checkId(request.memberId, 'member_id');
      const { revision } = await proposer.change({ decide: () => ({ type: 'deregisterMember', memberId }) }, key);
      return { header: header(revision) };
    }),

    reportSuspect: kit.unary(async (request, call) => {
      checkId(request.reporterId, 'reporter_id');
      const suspectId = checkId(request.suspectId, 'suspect_id');
      if (!Number.isFinite(request.phi) || request.phi < 0) {
        throw new InvalidArgumentError('phi', `must be a finite number >= 0, got ${request.phi}`);
      }
      proposer.requireLeader();
      const { machine } = replica;
      const report = { reporter: request.reporterId, suspect: suspectId, phi: request.phi };
      const group = machine.topology.groups.find((candidate) => candidate.primary === suspectId);
      const address = machine.member(suspectId)?.address;
      // Only a primary's death needs the leader: a backup leaves the in-sync set through its
      // primary, and a dead coordinator leader is replaced by Paxos's own election.
      if (!group || address === undefined) {
        options.logger.info(report, 'member reported as suspect; not a primary, recorded only');
        return { header: header(machine.revision), failoverStarted: false };
      }
      if (await options.memberProbe.answers(address, suspectProbeDeadlineMs)) {
        options.logger.info({ ...report, group: group.id }, 'suspect primary answered the leader; no failover');
        return { header: header(machine.revision), failoverStarted: false };
      }
      options.logger.warn({ ...report, group: group.id }, 'suspect primary confirmed by the leader; failing over');
      const cancelled = new AbortController();
      call.on('cancelled', () => cancelled.abort());
      try {
        const { revision } = await requestFailover(
          failovers,
          { groupId: group.id, expectedEpoch: group.epoch, targetPrimary: '' },
          undefined,
          { callerRemainingMs: msUntil(call.getDeadline()), signal: cancelled.signal },
        );
        return { header: header(revision), failoverStarted: true };
      } catch (error) {
        // The group moved on since the probe (the lease ran out, another report): done without this one.
        if (error instanceof FailedPreconditionError && error.details.field === 'expected_epoch') {
          return { header: header(machine.revision), failoverStarted: false };
        }
        throw error;
      }
    }),

    failover: kit.unary(async (request, call) => {
      const key = requestKeyOf('Failover', FailoverRequest, request);
      const groupId = checkId(request.groupId, 'group_id');
      if (request.targetPrimary !== '') checkId(request.targetPrimary, 'target_primary');
      if (request.expectedEpoch === 0n) {
        // The epoch is the fence: a retry after a lost answer finds the epoch moved and changes
        // nothing, even after its request_id has been forgotten.
        throw new InvalidArgumentError(
          'expected_epoch',
          'is required: a Failover without it, retried after a lost answer, could move the primary twice',
        );
      }
      const cancelled = new AbortController();
      call.on('cancelled', () => cancelled.abort());
      const { revision, group } = await requestFailover(
        failovers,
        { groupId, expectedEpoch: request.expectedEpoch, targetPrimary: request.targetPrimary },
        key,
        { callerRemainingMs: msUntil(call.getDeadline()), signal: cancelled.signal },
      );
      return { header: header(revision), group: groupToProto(group) };
    }),

    createGroup: kit.unary(async (request) => {
      const key = requestKeyOf('CreateGroup', CreateGroupRequest, request);
      const mode = modeFromProto(request.mode);
      if (!mode) throw new InvalidArgumentError('mode', 'must be a known REPLICATION_MODE_*');
      const { revision, value } = await proposer.change(
        { decide: () => ({ type: 'createGroup', groupId: request.groupId, members: request.members, mode }) },
        key,
      );
      return { header: header(revision), group: groupToProto(value.group) };
    }),

    deleteGroup: kit.unary(async (request) => {
      const key = requestKeyOf('DeleteGroup', DeleteGroupRequest, request);
      const { revision } = await proposer.change(
        {
          decide: (): DeleteGroupCommand => ({
            type: 'deleteGroup',
            groupId: request.groupId,
            expectedPrimaryLeaseRevision: replica.machine.group(request.groupId)?.primaryLeaseRevision ?? 0n,
          }),
          // Its keys may be served elsewhere next: the old primary's lease must have ended first.
          gate: (command: DeleteGroupCommand, leaderSinceMs) => failovers.requireLeaseEnded(command, leaderSinceMs),
        },
        key,
      );
      return { header: header(revision) };
    }),

    setRing: kit.unary(async (request) => {
      const key = requestKeyOf('SetRing', SetRingRequest, request);
      const { revision, value } = await proposer.change(
        {
          decide: () => ({
            type: 'setRing',
            expectedVersion: request.expectedVersion,
            virtualNodesPerWeight: request.virtualNodesPerWeight,
            groups: request.groups.map((group) => ({ groupId: group.groupId, weight: group.weight })),
          }),
        },
        key,
      );
      return { header: header(revision), ring: ringToProto(value.ring) };
    }),

    renewPrimaryLease: kit.unary(async (request) => {
      const key = requestKeyOf('RenewPrimaryLease', RenewPrimaryLeaseRequest, request);
      const { revision, value } = await proposer.change(
        {
          decide: () => ({
            type: 'renewPrimaryLease',
            groupId: request.groupId,
            memberId: request.memberId,
            epoch: request.epoch,
            leaseMs: options.primaryLeaseMs,
          }),
        },
        key,
      );
      return { header: header(revision), leaseMs: value.leaseMs };
    }),

    updateInSyncSet: kit.unary(async (request) => {
      const key = requestKeyOf('UpdateInSyncSet', UpdateInSyncSetRequest, request);
      const { revision, value } = await proposer.change(
        {
          decide: () => ({
            type: 'updateInSyncSet',
            groupId: request.groupId,
            epoch: request.epoch,
            primaryId: request.primaryId,
            inSync: request.inSync,
          }),
        },
        key,
      );
      return { header: header(revision), group: groupToProto(value.group) };
    }),
  };
  return { definition: coordinatorV1.CoordinatorService, implementation };
}

// coordinator.v1.Coordinator over the replicated metadata. Changes are
// proposed through Paxos by the leader (a follower answers
// FAILED_PRECONDITION with a leader hint); GetTopology is answered by the
// leader under its lease; WatchTopology is served by any member from the
// state it has applied, so a watch survives leader changes.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { coordinatorV1, type commonV1 } from '@bulwark/contracts';
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import {
  findGroup,
  type Applied,
  type CommandOutputs,
  type MetadataCommand,
  type TopologyEvent,
} from '@bulwark/metadata';
import { untilCallEnds, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';
import { encodeCommand } from './command-codec';
import type { MetadataReplica, TopologyListener } from './metadata-replica';
import type { PaxosRunner } from './paxos-runner';
import {
  eventToProto,
  groupToProto,
  modeFromProto,
  ringToProto,
  roleFromProto,
  topologyToProto,
} from './topology-codec';

export interface CoordinatorServiceOptions {
  memberId: string;
  runner: PaxosRunner<Applied>;
  replica: MetadataReplica;
  logger: Logger;
  addresses: ReadonlyMap<string, string>;
  /** Primary lease granted by RenewPrimaryLease. */
  primaryLeaseMs: number;
  /** Bound on clock drift between a primary and coordinator leaders, added before a failover. */
  clockDriftMs: number;
  /** The leader's clock for commands; injected so tests can set it. */
  nowMs: () => bigint;
}

/** Changes a slow watcher may fall behind by before its stream is ended (it resumes from its revision). */
export const watchBacklogMax = 1_024;

type Change = Exclude<MetadataCommand, { type: 'noop' }>;

export function coordinatorService(kit: HandlerKit, options: CoordinatorServiceOptions): ServiceBinding {
  const { runner, replica } = options;

  const header = (revision: bigint): commonV1.ResponseHeader => ({
    memberId: options.memberId,
    epoch: 0n,
    ballot: runner.node.promisedBallot,
    revision,
    sequence: 0n,
  });

  /** Proposes a change; resolves with the revision it produced and its result, or throws the error it was rejected with. */
  async function change<C extends Change>(command: C): Promise<{ revision: bigint; value: CommandOutputs[C['type']] }> {
    const applied = (await runner.propose(encodeCommand(command))) as Applied<C['type']>;
    if (!applied.result.ok) throw applied.result.error;
    return { revision: applied.topology.revision, value: applied.result.value };
  }

  function requireLeader(): void {
    if (runner.node.role !== 'leader') throw runner.notLeader();
  }

  const implementation: coordinatorV1.CoordinatorServer = {
    getLeader: kit.unary(() => {
      const leaderId = runner.node.leaderId ?? '';
      return {
        header: header(replica.machine.topology.revision),
        leaderId,
        leaderAddress: options.addresses.get(leaderId) ?? '',
      };
    }),

    getTopology: kit.unary(() => {
      if (!runner.canReadLocally()) throw runner.notLeader();
      const topology = replica.machine.topology;
      return { header: header(topology.revision), topology: topologyToProto(topology) };
    }),

    watchTopology: kit.serverStream(
      async (
        request,
        call: ServerWritableStream<coordinatorV1.WatchTopologyRequest, coordinatorV1.WatchTopologyResponse>,
        { shutdown },
      ) => {
        // A member that has applied less than start_revision sends nothing older than it.
        const start = request.startRevision;
        let backlog = 0;
        let tooSlow = false;
        const stopped = new AbortController();
        const write = (response: Omit<coordinatorV1.WatchTopologyResponse, 'header'>, revision: bigint) => {
          if (!call.write({ header: header(revision), ...response })) backlog++;
          if (backlog > watchBacklogMax) {
            tooSlow = true;
            stopped.abort();
          }
        };
        const drained = () => (backlog = 0);
        const sendSnapshot = () => {
          const topology = replica.machine.topology;
          write({ snapshot: topologyToProto(topology), events: [] }, topology.revision);
        };
        const sendEvents = (events: readonly TopologyEvent[]) => {
          const wanted = events.filter((event) => event.revision >= start);
          if (wanted.length > 0)
            write({ snapshot: undefined, events: wanted.map(eventToProto) }, wanted.at(-1)!.revision);
        };
        const listener: TopologyListener = (update) => ('reset' in update ? sendSnapshot() : sendEvents(update.events));
        // Catch-up and subscription happen in one synchronous step: no change can fall between them.
        if (start === 0n) sendSnapshot();
        else {
          const since = replica.machine.eventsSince(start - 1n);
          if (since.type === 'compacted') sendSnapshot();
          else sendEvents(since.events);
        }
        if (!replica.subscribe(listener)) {
          throw new UnavailableError('too many watchers on this coordinator; try another member');
        }
        call.on('drain', drained);
        try {
          await untilCallEnds(call, AbortSignal.any([shutdown, stopped.signal]));
        } finally {
          replica.unsubscribe(listener);
          call.off('drain', drained);
        }
        if (tooSlow) {
          throw new ResourceExhaustedError(
            'watchBacklogMax',
            'watcher too slow; resume from the last revision received',
          );
        }
      },
    ),

    registerMember: kit.unary(async (request) => {
      const member = request.member;
      if (!member) throw new InvalidArgumentError('member', 'is required');
      const role = roleFromProto(member.role);
      if (!role) throw new InvalidArgumentError('member.role', 'must be a known MEMBER_ROLE_*, not unspecified');
      const applied = await change({
        type: 'registerMember',
        member: { id: member.id, address: member.address, role, groupId: member.groupId },
      });
      return { header: header(applied.revision) };
    }),

    reportSuspect: kit.unary((request) => {
      if (!request.suspectId) throw new InvalidArgumentError('suspect_id', 'is required');
      requireLeader();
      // Automatic failover needs the replicas' durable sequences (replica issue); until then a report is recorded.
      options.logger.warn(
        { reporter: request.reporterId, suspect: request.suspectId, phi: request.phi },
        'member reported as suspect',
      );
      return { header: header(replica.machine.topology.revision), failoverStarted: false };
    }),

    failover: kit.unary(async (request) => {
      if (!request.groupId) throw new InvalidArgumentError('group_id', 'is required');
      requireLeader();
      const group = findGroup(replica.machine.topology, request.groupId);
      if (!group) throw new NotFoundError('group_id', `no group '${request.groupId}'`);
      // Without a target: the first other in-sync member (choosing by durable sequence needs the replicas).
      const newPrimary = request.targetPrimary || group.inSync.find((member) => member !== group.primary) || '';
      const applied = await change({
        type: 'failover',
        groupId: request.groupId,
        expectedEpoch: request.expectedEpoch,
        newPrimary,
        nowMs: options.nowMs(),
        leaseDriftMs: BigInt(options.clockDriftMs),
      });
      return { header: header(applied.revision), group: groupToProto(applied.value.group) };
    }),

    createGroup: kit.unary(async (request) => {
      const mode = modeFromProto(request.mode);
      if (!mode) throw new InvalidArgumentError('mode', 'must be a known REPLICATION_MODE_*');
      const applied = await change({
        type: 'createGroup',
        groupId: request.groupId,
        members: request.members,
        mode,
        nowMs: options.nowMs(),
      });
      return { header: header(applied.revision), group: groupToProto(applied.value.group) };
    }),

    deleteGroup: kit.unary(async (request) => {
      const applied = await change({ type: 'deleteGroup', groupId: request.groupId });
      return { header: header(applied.revision) };
    }),

    setRing: kit.unary(async (request) => {
      const applied = await change({
        type: 'setRing',
        expectedVersion: request.expectedVersion,
        virtualNodesPerWeight: request.virtualNodesPerWeight,
        groups: request.groups.map((group) => ({ groupId: group.groupId, weight: group.weight })),
      });
      return { header: header(applied.revision), ring: ringToProto(applied.value.ring) };
    }),

    renewPrimaryLease: kit.unary(async (request) => {
      const applied = await change({
        type: 'renewPrimaryLease',
        groupId: request.groupId,
        memberId: request.memberId,
        epoch: request.epoch,
        nowMs: options.nowMs(),
        leaseMs: options.primaryLeaseMs,
      });
      return { header: header(applied.revision), leaseMs: applied.value.leaseMs };
    }),

    updateInSyncSet: kit.unary(async (request) => {
      const applied = await change({
        type: 'updateInSyncSet',
        groupId: request.groupId,
        epoch: request.epoch,
        primaryId: request.primaryId,
        inSync: request.inSync,
      });
      return { header: header(applied.revision), group: groupToProto(applied.value.group) };
    }),
  };
  return { definition: coordinatorV1.CoordinatorService, implementation };
}

// Metadata commands as the bytes of Paxos log entries (coordinator.v1
// MetadataCommand), and snapshots as MetadataSnapshot. An empty entry is the
// no-op a new leader fills gaps with.
import { randomUUID } from 'node:crypto';
import { coordinatorV1Metadata, type coordinatorV1 } from '@bulwark/contracts';
import type { Member, MetadataCommand, ReplicaGroup, Topology } from '@bulwark/metadata';
import { memberToProto, modeFromProto, modeToProto, roleFromProto, topologyToProto } from './topology-codec';

const { MetadataCommand: CommandMessage, MetadataSnapshot } = coordinatorV1Metadata;

export function encodeCommand(command: Exclude<MetadataCommand, { type: 'noop' }>): Uint8Array {
  const requestId = randomUUID();
  const wrap = (body: coordinatorV1Metadata.MetadataCommand['command']) =>
    CommandMessage.encode({ requestId, command: body }).finish();
  switch (command.type) {
    case 'registerMember':
      return wrap({ $case: 'registerMember', registerMember: memberToProto(command.member) });
    case 'createGroup':
      return wrap({
        $case: 'createGroup',
        createGroup: {
          groupId: command.groupId,
          members: [...command.members],
          mode: modeToProto(command.mode),
          nowUnixMs: command.nowMs,
        },
      });
    case 'deleteGroup':
      return wrap({ $case: 'deleteGroup', deleteGroup: command.groupId });
    case 'setRing':
      return wrap({
        $case: 'setRing',
        setRing: {
          expectedVersion: command.expectedVersion,
          virtualNodesPerWeight: command.virtualNodesPerWeight,
          groups: command.groups.map((group) => ({ groupId: group.groupId, weight: group.weight })),
        },
      });
    case 'failover':
      return wrap({
        $case: 'failover',
        failover: {
          groupId: command.groupId,
          expectedEpoch: command.expectedEpoch,
          newPrimary: command.newPrimary,
          nowUnixMs: command.nowMs,
          leaseDriftMs: command.leaseDriftMs,
        },
      });
    case 'renewPrimaryLease':
      return wrap({
        $case: 'renewPrimaryLease',
        renewPrimaryLease: {
          groupId: command.groupId,
          memberId: command.memberId,
          epoch: command.epoch,
          nowUnixMs: command.nowMs,
          leaseMs: command.leaseMs,
        },
      });
    case 'updateInSyncSet':
      return wrap({
        $case: 'updateInSyncSet',
        updateInSyncSet: {
          groupId: command.groupId,
          epoch: command.epoch,
          primaryId: command.primaryId,
          inSync: [...command.inSync],
        },
      });
  }
}

function memberFromProto(member: coordinatorV1.Member): Member | undefined {
  const role = roleFromProto(member.role);
  return role && { id: member.id, address: member.address, role, groupId: member.groupId };
}

/**
 * The command in a committed entry. Empty bytes are the no-op; so is an
 * entry that does not decode, which only a bug could commit: every replica
 * decodes the same bytes the same way, so they still agree.
 */
export function decodeCommand(bytes: Uint8Array): MetadataCommand {
  if (bytes.length === 0) return { type: 'noop' };
  let message: coordinatorV1Metadata.MetadataCommand;
  try {
    message = CommandMessage.decode(bytes);
  } catch {
    return { type: 'noop' };
  }
  const body = message.command;
  switch (body?.$case) {
    case 'registerMember': {
      const member = memberFromProto(body.registerMember);
      return member ? { type: 'registerMember', member } : { type: 'noop' };
    }
    case 'createGroup': {
      const mode = modeFromProto(body.createGroup.mode);
      const { groupId, members, nowUnixMs } = body.createGroup;
      return mode ? { type: 'createGroup', groupId, members, mode, nowMs: nowUnixMs } : { type: 'noop' };
    }
    case 'deleteGroup':
      return { type: 'deleteGroup', groupId: body.deleteGroup };
    case 'setRing':
      return {
        type: 'setRing',
        expectedVersion: body.setRing.expectedVersion,
        virtualNodesPerWeight: body.setRing.virtualNodesPerWeight,
        groups: body.setRing.groups.map((group) => ({ groupId: group.groupId, weight: group.weight })),
      };
    case 'failover': {
      const { groupId, expectedEpoch, newPrimary, nowUnixMs, leaseDriftMs } = body.failover;
      return { type: 'failover', groupId, expectedEpoch, newPrimary, nowMs: nowUnixMs, leaseDriftMs };
    }
    case 'renewPrimaryLease': {
      const { groupId, memberId, epoch, nowUnixMs, leaseMs } = body.renewPrimaryLease;
      return { type: 'renewPrimaryLease', groupId, memberId, epoch, nowMs: nowUnixMs, leaseMs };
    }
    case 'updateInSyncSet': {
      const { groupId, epoch, primaryId, inSync } = body.updateInSyncSet;
      return { type: 'updateInSyncSet', groupId, epoch, primaryId, inSync };
    }
    default:
      return { type: 'noop' };
  }
}

export function encodeSnapshot(topology: Topology): Uint8Array {
  return MetadataSnapshot.encode({ topology: topologyToProto(topology) }).finish();
}

/** The topology of a snapshot; throws on bytes that are not one (the caller treats it as corruption). */
export function decodeSnapshot(bytes: Uint8Array): Topology {
  const topology = MetadataSnapshot.decode(bytes).topology;
  if (!topology) throw new Error('snapshot has no topology');
  const members: Member[] = topology.members.map((member) => {
    const decoded = memberFromProto(member);
    if (!decoded) throw new Error(`snapshot member ${member.id} has an unknown role`);
    return decoded;
  });
  const groups: ReplicaGroup[] = topology.groups.map((group) => {
    const mode = modeFromProto(group.mode);
    if (!mode) throw new Error(`snapshot group ${group.id} has an unknown mode`);
    return {
      id: group.id,
      epoch: group.epoch,
      primary: group.primary,
      members: group.members,
      inSync: group.inSync,
      mode,
      primaryLeaseExpiryMs: group.primaryLeaseExpiryUnixMs,
    };
  });
  const ring = topology.ring ?? { version: 0n, virtualNodesPerWeight: 4096, groups: [] };
  return {
    revision: topology.revision,
    members,
    groups,
    ring: { version: ring.version, virtualNodesPerWeight: ring.virtualNodesPerWeight, groups: ring.groups },
  };
}

// Maps the metadata core's plain values to coordinator.v1 protobufs and
// back: the public contract (GetTopology, WatchTopology) and the records the
// Paxos log and its snapshots hold.
import { coordinatorV1 } from '@bulwark/contracts';
import { memberRoleName, memberRoleOf } from '@bulwark/coordinator-client';
import { defaultVirtualNodesPerWeight } from '@bulwark/partitioning';
import type { Member, ReplicaGroup, ReplicationMode, Ring, Topology, TopologyEvent } from '@bulwark/metadata';

const { ReplicationMode: ProtoMode } = coordinatorV1;

export function modeToProto(mode: ReplicationMode): coordinatorV1.ReplicationMode {
  return mode === 'async' ? ProtoMode.REPLICATION_MODE_ASYNC : ProtoMode.REPLICATION_MODE_SYNC;
}

/** UNSPECIFIED means sync, as the contract says; unknown values are undefined. */
export function modeFromProto(mode: coordinatorV1.ReplicationMode): ReplicationMode | undefined {
  if (mode === ProtoMode.REPLICATION_MODE_ASYNC) return 'async';
  if (mode === ProtoMode.REPLICATION_MODE_SYNC || mode === ProtoMode.REPLICATION_MODE_UNSPECIFIED) return 'sync';
  return undefined;
}

export function memberToProto(member: Member): coordinatorV1.Member {
  return {
    id: member.id,
    address: member.address,
    role: memberRoleOf(member.role),
    groupId: member.groupId,
    metricsAddress: member.metricsAddress,
  };
}

export function groupToProto(group: ReplicaGroup): coordinatorV1.ReplicaGroup {
  return {
    id: group.id,
    epoch: group.epoch,
    primary: group.primary,
    members: [...group.members],
    inSync: [...group.inSync],
    mode: modeToProto(group.mode),
    primaryLeaseRevision: group.primaryLeaseRevision,
    primaryLeaseMs: group.primaryLeaseMs,
    handoverTarget: group.handoverTarget,
  };
}

/** The member of a proto, or undefined when its role is unspecified or unknown (the caller decides what that means). */
export function memberFromProto(member: coordinatorV1.Member): Member | undefined {
  const role = memberRoleName(member.role);
  return (
    role && {
      id: member.id,
      address: member.address,
      role,
      groupId: member.groupId,
      metricsAddress: member.metricsAddress,
    }
  );
}

/** The group of a proto from the coordinators' own records; throws on an unknown mode (corruption). */
export function groupFromProto(group: coordinatorV1.ReplicaGroup): ReplicaGroup {
  const mode = modeFromProto(group.mode);
  if (!mode) throw new Error(`group ${group.id} has an unknown mode`);
  return {
    id: group.id,
    epoch: group.epoch,
    primary: group.primary,
    members: group.members,
    inSync: group.inSync,
    mode,
    primaryLeaseRevision: group.primaryLeaseRevision,
    primaryLeaseMs: group.primaryLeaseMs,
    handoverTarget: group.handoverTarget,
  };
}

export function ringFromProto(ring: coordinatorV1.Ring | undefined): Ring {
  if (!ring) return { version: 0n, virtualNodesPerWeight: defaultVirtualNodesPerWeight, groups: [] };
  return { version: ring.version, virtualNodesPerWeight: ring.virtualNodesPerWeight, groups: ring.groups };
}

/** The topology of a proto from the coordinators' own records; throws on an unknown role or mode (corruption). */
export function topologyFromProto(topology: coordinatorV1.Topology): Topology {
  return {
    revision: topology.revision,
    members: topology.members.map((member) => {
      const decoded = memberFromProto(member);
      if (!decoded) throw new Error(`member ${member.id} has an unknown role`);
      return decoded;
    }),
    groups: topology.groups.map(groupFromProto),
    ring: ringFromProto(topology.ring),
  };
}

export function ringToProto(ring: Ring): coordinatorV1.Ring {
  return {
    version: ring.version,
    virtualNodesPerWeight: ring.virtualNodesPerWeight,
    groups: ring.groups.map((group) => ({ groupId: group.groupId, weight: group.weight })),
  };
}

export function topologyToProto(topology: Topology): coordinatorV1.Topology {
  return {
    revision: topology.revision,
    members: topology.members.map(memberToProto),
    groups: topology.groups.map(groupToProto),
    ring: ringToProto(topology.ring),
  };
}

export function eventToProto(event: TopologyEvent): coordinatorV1.TopologyEvent {
  const { change } = event;
  switch (change.type) {
    case 'memberRegistered':
      return {
        revision: event.revision,
        change: { $case: 'memberRegistered', memberRegistered: memberToProto(change.member) },
      };
    case 'memberDeregistered':
      return { revision: event.revision, change: { $case: 'memberDeregistered', memberDeregistered: change.memberId } };
    case 'groupUpdated':
      return { revision: event.revision, change: { $case: 'groupUpdated', groupUpdated: groupToProto(change.group) } };
    case 'groupDeleted':
      return { revision: event.revision, change: { $case: 'groupDeleted', groupDeleted: change.groupId } };
    case 'ringUpdated':
      return { revision: event.revision, change: { $case: 'ringUpdated', ringUpdated: ringToProto(change.ring) } };
  }
}

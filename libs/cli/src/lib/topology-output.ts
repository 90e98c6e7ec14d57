// The coordinators' topology as status and watch-topology print it: enums
// by name, 64-bit numbers kept exact, one line per change for people.
import { coordinatorV1 } from '@bulwark/contracts';
import { memberRoleName } from '@bulwark/coordinator-client';

export function modeName(mode: coordinatorV1.ReplicationMode): string {
  return mode === coordinatorV1.ReplicationMode.REPLICATION_MODE_ASYNC ? 'async' : 'sync';
}

export function roleName(role: coordinatorV1.MemberRole): string {
  return memberRoleName(role) ?? `role-${role}`;
}

export function groupJson(group: coordinatorV1.ReplicaGroup): Record<string, unknown> {
  return {
    id: group.id,
    epoch: group.epoch,
    primary: group.primary,
    members: group.members,
    inSync: group.inSync,
    mode: modeName(group.mode),
    primaryLeaseMs: group.primaryLeaseMs,
    primaryLeaseRevision: group.primaryLeaseRevision,
    ...(group.handoverTarget ? { handoverTarget: group.handoverTarget } : {}),
  };
}

export function memberJson(member: coordinatorV1.Member): Record<string, unknown> {
  return {
    id: member.id,
    address: member.address,
    role: roleName(member.role),
    ...(member.groupId ? { groupId: member.groupId } : {}),
    ...(member.metricsAddress ? { metricsAddress: member.metricsAddress } : {}),
  };
}

export function ringJson(ring: coordinatorV1.Ring | undefined): Record<string, unknown> | null {
  return ring
    ? { version: ring.version, virtualNodesPerWeight: ring.virtualNodesPerWeight, groups: ring.groups }
    : null;
}

export function topologyJson(topology: coordinatorV1.Topology): Record<string, unknown> {
  return {
    revision: topology.revision,
    members: topology.members.map(memberJson),
    groups: topology.groups.map(groupJson),
    ring: ringJson(topology.ring),
  };
}

/** A group in one line: "group-a epoch 16, primary replica-a2, in-sync replica-a2,replica-a3, sync". */
export function groupText(group: coordinatorV1.ReplicaGroup): string {
  const handover = group.handoverTarget ? `, handing over to ${group.handoverTarget}` : '';
  return `${group.id} epoch ${group.epoch}, primary ${group.primary || '(none)'}, in-sync ${group.inSync.join(',')}, ${modeName(group.mode)}${handover}`;
}

export function ringText(ring: coordinatorV1.Ring | undefined): string {
  if (!ring || ring.groups.length === 0) return 'empty';
  const groups = ring.groups.map((group) => (group.weight === 1 ? group.groupId : `${group.groupId}×${group.weight}`));
  return `version ${ring.version}: ${groups.join(', ')}`;
}

/** Whether two records of a group differ in more than the primary's lease, which every renewal (10 a second) moves. */
export function changedBeyondLease(before: coordinatorV1.ReplicaGroup, after: coordinatorV1.ReplicaGroup): boolean {
  const withoutLease = (group: coordinatorV1.ReplicaGroup) =>
    JSON.stringify(groupJson({ ...group, primaryLeaseMs: 0, primaryLeaseRevision: 0n }), (_, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
  return withoutLease(before) !== withoutLease(after);
}

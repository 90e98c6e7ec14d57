// Field-by-field equality of two topologies, for comparing replicas. Lists
// are compared in order: the state machine keeps every list in one canonical
// order (members, groups and ring groups by id, in_sync in member order), so
// equal metadata is always equal lists.
import type { Member, ReplicaGroup, Ring, Topology } from './types';

export function topologyEquals(a: Topology, b: Topology): boolean {
  return (
    a.revision === b.revision &&
    listsEqual(a.members, b.members, membersEqual) &&
    listsEqual(a.groups, b.groups, groupsEqual) &&
    ringsEqual(a.ring, b.ring)
  );
}

function membersEqual(a: Member, b: Member): boolean {
  return (
    a.id === b.id &&
    a.address === b.address &&
    a.role === b.role &&
    a.groupId === b.groupId &&
    a.metricsAddress === b.metricsAddress
  );
}

function groupsEqual(a: ReplicaGroup, b: ReplicaGroup): boolean {
  return (
    a.id === b.id &&
    a.epoch === b.epoch &&
    a.primary === b.primary &&
    listsEqual(a.members, b.members, idsEqual) &&
    listsEqual(a.inSync, b.inSync, idsEqual) &&
    a.mode === b.mode &&
    a.primaryLeaseRevision === b.primaryLeaseRevision &&
    a.primaryLeaseMs === b.primaryLeaseMs &&
    a.handoverTarget === b.handoverTarget
  );
}

function ringsEqual(a: Ring, b: Ring): boolean {
  return (
    a.version === b.version &&
    a.virtualNodesPerWeight === b.virtualNodesPerWeight &&
    listsEqual(a.groups, b.groups, (x, y) => x.groupId === y.groupId && x.weight === y.weight)
  );
}

function idsEqual(a: string, b: string): boolean {
  return a === b;
}

function listsEqual<T>(a: readonly T[], b: readonly T[], equal: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((item, index) => equal(item, b[index] as T));
}

// Reading and copy-on-write updating of a Topology. Members and groups are
// kept sorted by id (code point order), so a lookup is a binary search, the
// order never depends on the history of commands that built a topology, and
// two replicas' topologies can be compared field by field.
import { compareCodePoints, defaultVirtualNodesPerWeight } from '@bulwark/partitioning';
import type { Member, ReplicaGroup, Ring, Topology } from './types';

export const emptyRing: Ring = frozenRing({
  version: 0n,
  virtualNodesPerWeight: defaultVirtualNodesPerWeight,
  groups: [],
});

/** The state before the first command: revision 0, nothing registered, an empty ring at version 0. */
export const emptyTopology: Topology = Object.freeze({
  revision: 0n,
  members: Object.freeze([]),
  groups: Object.freeze([]),
  ring: emptyRing,
});

export function findMember(topology: Topology, id: string): Member | undefined {
  return findById(topology.members, id);
}

export function findGroup(topology: Topology, id: string): ReplicaGroup | undefined {
  return findById(topology.groups, id);
}

/** The group whose members list `memberId`; every replica is in at most one. */
export function groupOfMember(topology: Topology, memberId: string): ReplicaGroup | undefined {
  return topology.groups.find((group) => group.members.includes(memberId));
}

function findById<T extends { readonly id: string }>(items: readonly T[], id: string): T | undefined {
  const index = searchById(items, id);
  return index >= 0 ? items[index] : undefined;
}

/** Binary search: the index of `id`, or -(insertion point) - 1 when absent. */
function searchById(items: readonly { readonly id: string }[], id: string): number {
  let low = 0;
  let high = items.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const order = compareCodePoints((items[middle] as { readonly id: string }).id, id);
    if (order === 0) return middle;
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return -low - 1;
}

/** A new sorted list with `item` added or replacing the item of the same id. */
export function withItem<T extends { readonly id: string }>(items: readonly T[], item: T): readonly T[] {
  const index = searchById(items, item.id);
  const next = [...items];
  if (index >= 0) next[index] = item;
  else next.splice(-index - 1, 0, item);
  return Object.freeze(next);
}

/** A new sorted list without the item of that id. */
export function withoutItem<T extends { readonly id: string }>(items: readonly T[], id: string): readonly T[] {
  return Object.freeze(items.filter((item) => item.id !== id));
}

export function frozenMember(member: Member): Member {
  const { id, address, role, groupId, metricsAddress } = member;
  return Object.freeze({ id, address, role, groupId, metricsAddress });
}

export function frozenGroup(group: ReplicaGroup): ReplicaGroup {
  const { id, epoch, primary, mode, primaryLeaseRevision, primaryLeaseMs, handoverTarget } = group;
  return Object.freeze({
    id,
    epoch,
    primary,
    members: Object.freeze([...group.members]),
    inSync: Object.freeze([...group.inSync]),
    mode,
    primaryLeaseRevision,
    primaryLeaseMs,
    handoverTarget,
  });
}

export function frozenRing(ring: Ring): Ring {
  return Object.freeze({
    version: ring.version,
    virtualNodesPerWeight: ring.virtualNodesPerWeight,
    groups: Object.freeze(ring.groups.map(({ groupId, weight }) => Object.freeze({ groupId, weight }))),
  });
}

/** A deep, frozen copy, e.g. of a topology decoded from a snapshot, so nothing outside can change it later. */
export function frozenTopology(topology: Topology): Topology {
  return Object.freeze({
    revision: topology.revision,
    members: Object.freeze(topology.members.map(frozenMember)),
    groups: Object.freeze(topology.groups.map(frozenGroup)),
    ring: frozenRing(topology.ring),
  });
}

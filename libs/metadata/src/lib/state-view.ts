// What a command handler reads: the metadata at one revision, by lookup.
// Two implementations answer it alike: a view over an immutable Topology
// (the reference apply(), which the property tests hold the state machine
// to), and the state machine's indexed state (indexed-state.ts), whose
// lookups cost the same whatever the number of members and groups.
import { findGroup, findMember, groupOfMember } from './topology';
import type { Member, ReplicaGroup, Ring, Topology } from './types';

export interface StateView {
  readonly revision: bigint;
  readonly ring: Ring;
  readonly memberCount: number;
  readonly groupCount: number;
  member(id: string): Member | undefined;
  /** The member registered at this address, if any (addresses are unique). */
  memberAt(address: string): Member | undefined;
  group(id: string): ReplicaGroup | undefined;
  /** The group whose members list the member; every replica is in at most one. */
  groupOfMember(memberId: string): ReplicaGroup | undefined;
  /** Whether the ring lists the group. */
  onRing(groupId: string): boolean;
}

/** A view over a topology: binary searches, and scans where a topology has no index (addresses, membership). */
export function topologyView(topology: Topology): StateView {
  return {
    revision: topology.revision,
    ring: topology.ring,
    memberCount: topology.members.length,
    groupCount: topology.groups.length,
    member: (id) => findMember(topology, id),
    memberAt: (address) => topology.members.find((member) => member.address === address),
    group: (id) => findGroup(topology, id),
    groupOfMember: (memberId) => groupOfMember(topology, memberId),
    onRing: (groupId) => topology.ring.groups.some((ringGroup) => ringGroup.groupId === groupId),
  };
}

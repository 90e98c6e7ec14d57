// The invariants every topology the state machine produces must satisfy,
// written out independently of the handlers that maintain them. The property
// tests check them after every command; installing a snapshot checks them
// before trusting bytes that came over the network or off a disk.
import { BulwarkError } from '@bulwark/errors';
import {
  compareCodePoints,
  ringPointsMax,
  virtualNodesPerWeightMax,
  weightMax,
  weightMin,
} from '@bulwark/partitioning';
import { checkAddress, checkLeaseMs, checkMode, checkRole, checkUint64, isValidId } from './fields';
import { groupMembersMax, topologyGroupsMax, topologyMembersMax } from './limits';
import { findGroup, findMember } from './topology';
import type { ReplicaGroup, Topology } from './types';

/** Every invariant the topology breaks, one line each; empty when it is sound. */
export function topologyViolations(topology: Topology): string[] {
  const violations: string[] = [];
  if (!passes(() => checkUint64(topology.revision, 'revision'))) violations.push('revision is not a uint64 bigint');
  checkMembers(topology, violations);
  checkGroups(topology, violations);
  checkRing(topology, violations);
  return violations;
}

function checkMembers(topology: Topology, violations: string[]): void {
  const { members } = topology;
  if (members.length > topologyMembersMax) violations.push(`more than ${topologyMembersMax} members`);
  if (!strictlyAscending(members.map((member) => member.id))) violations.push('members are not sorted by unique id');
  const holderByAddress = new Map<string, string>();
  for (const member of members) {
    const name = `member '${member.id}'`;
    if (!isValidId(member.id)) violations.push(`${name}: invalid id`);
    if (!passes(() => checkAddress(member.address, 'address'))) violations.push(`${name}: invalid address`);
    if (!passes(() => checkRole(member.role, 'role'))) violations.push(`${name}: invalid role`);
    const holder = holderByAddress.get(member.address);
    if (holder !== undefined) violations.push(`${name}: address ${member.address} is also '${holder}''s`);
    holderByAddress.set(member.address, member.id);
    if (member.role === 'replica' ? member.groupId !== '' && !isValidId(member.groupId) : member.groupId !== '') {
      violations.push(`${name}: invalid group_id '${member.groupId}' for a ${member.role}`);
    }
  }
}

function checkGroups(topology: Topology, violations: string[]): void {
  const { groups } = topology;
  if (groups.length > topologyGroupsMax) violations.push(`more than ${topologyGroupsMax} groups`);
  if (!strictlyAscending(groups.map((group) => group.id))) violations.push('groups are not sorted by unique id');
  for (const group of groups) checkGroup(topology, group, violations);
}

function checkGroup(topology: Topology, group: ReplicaGroup, violations: string[]): void {
  const name = `group '${group.id}'`;
  if (!isValidId(group.id)) violations.push(`${name}: invalid id`);
  if (!passes(() => checkUint64(group.epoch, 'epoch')) || group.epoch < 1n) violations.push(`${name}: epoch below 1`);
  if (!passes(() => checkMode(group.mode, 'mode'))) violations.push(`${name}: invalid mode`);
  // The lease revision is set by a command of its own, so it lies in (0, revision].
  const leaseRevision = group.primaryLeaseRevision;
  if (!passes(() => checkUint64(leaseRevision, 'lease')) || leaseRevision < 1n || leaseRevision > topology.revision) {
    violations.push(`${name}: primary lease revision ${leaseRevision} outside 1 to ${topology.revision}`);
  }
  if (group.primaryLeaseMs !== 0 && !passes(() => checkLeaseMs(group.primaryLeaseMs, 'lease'))) {
    violations.push(`${name}: primary lease of ${group.primaryLeaseMs} ms`);
  }
  const { members, inSync, primary } = group;
  if (members.length < 1 || members.length > groupMembersMax) {
    violations.push(`${name}: ${members.length} members, not 1 to ${groupMembersMax}`);
  }
  if (new Set(members).size !== members.length) violations.push(`${name}: a member is listed twice`);
  for (const memberId of members) {
    // A group lists only replicas that declared it; since a member declares
    // one group, no replica is in two groups.
    const member = findMember(topology, memberId);
    if (member?.role !== 'replica' || member.groupId !== group.id) {
      violations.push(`${name}: '${memberId}' is not a registered replica that declared this group`);
    }
  }
  const inMemberOrder = members.filter((memberId) => inSync.includes(memberId));
  if (inSync.length !== inMemberOrder.length || inSync.some((memberId, index) => memberId !== inMemberOrder[index])) {
    violations.push(`${name}: in_sync is not a subset of the members in member order`);
  }
  if (primary !== '' && !inSync.includes(primary)) violations.push(`${name}: primary '${primary}' is not in sync`);
  // Set by StartHandover to another member of the group; the next epoch clears it.
  const { handoverTarget } = group;
  if (handoverTarget !== '' && (handoverTarget === primary || !members.includes(handoverTarget))) {
    violations.push(`${name}: handover target '${handoverTarget}' is the primary or not a member`);
  }
}

function checkRing(topology: Topology, violations: string[]): void {
  const { ring } = topology;
  if (!passes(() => checkUint64(ring.version, 'version'))) violations.push('ring: version is not a uint64 bigint');
  const { virtualNodesPerWeight: perWeight, groups } = ring;
  if (!Number.isInteger(perWeight) || perWeight < 1 || perWeight > virtualNodesPerWeightMax) {
    violations.push(`ring: virtual_nodes_per_weight ${perWeight} out of range`);
  }
  if ((ring.version === 0n) !== (groups.length === 0)) {
    violations.push('ring: version 0 must have no groups and later versions at least one');
  }
  if (!strictlyAscending(groups.map((group) => group.groupId))) violations.push('ring: groups not sorted by unique id');
  let weights = 0;
  for (const { groupId, weight } of groups) {
    if (!findGroup(topology, groupId)) violations.push(`ring: group '${groupId}' does not exist`);
    if (!Number.isInteger(weight) || weight < weightMin || weight > weightMax) {
      violations.push(`ring: group '${groupId}' has weight ${weight}`);
    }
    weights += weight;
  }
  if (weights * perWeight > ringPointsMax) violations.push(`ring: more than ${ringPointsMax} points`);
}

function strictlyAscending(ids: readonly string[]): boolean {
  return ids.every((id, index) => index === 0 || compareCodePoints(ids[index - 1] as string, id) < 0);
}

function passes(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (error) {
    if (error instanceof BulwarkError) return false;
    throw error;
  }
}

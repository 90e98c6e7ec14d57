// Checks shared by the commands that act on one existing group. They take
// fields already checked for form, so a malformed request is always
// INVALID_ARGUMENT before any lookup.
import { FailedPreconditionError, NotFoundError } from '@bulwark/errors';
import { findGroup } from '../topology';
import type { ReplicaGroup, Topology } from '../types';

export function requireGroup(topology: Topology, groupId: string): ReplicaGroup {
  const group = findGroup(topology, groupId);
  if (!group) throw new NotFoundError('group_id', `no group '${groupId}'`);
  return group;
}

/**
 * The fence of PacificA's configuration changes: a request stamped with an
 * epoch other than the group's comes from a primary that has been replaced
 * (or from a caller that has not seen the change), and must not act.
 */
export function requireCurrentEpoch(group: ReplicaGroup, epoch: bigint): void {
  if (epoch !== group.epoch) {
    throw new FailedPreconditionError('epoch', `is ${epoch}, but group '${group.id}' is at epoch ${group.epoch}`);
  }
}

export function requirePrimary(group: ReplicaGroup, memberId: string, field: string): void {
  if (memberId !== group.primary) {
    const primary = group.primary === '' ? 'has no primary' : `has primary '${group.primary}'`;
    throw new FailedPreconditionError(field, `'${memberId}' is not the primary: group '${group.id}' ${primary}`);
  }
}

// Checks shared by the commands that act on one existing group. They take
// fields already checked for form, so a malformed request is always
// INVALID_ARGUMENT before any lookup.
import { FailedPreconditionError, NotFoundError } from '@bulwark/errors';
import type { StateView } from '../state-view';
import type { ReplicaGroup } from '../types';

export function requireGroup(state: StateView, groupId: string): ReplicaGroup {
  const group = state.group(groupId);
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

/**
 * FAILED_PRECONDITION that a retry can fix without anyone acting (a lease
 * that runs out by itself), so it is marked retryable and is not remembered
 * as a request's outcome.
 */
export function retryableFailedPrecondition(field: string, problem: string): FailedPreconditionError {
  return new FailedPreconditionError(field, problem, { retryable: true });
}

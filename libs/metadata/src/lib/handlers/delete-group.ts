// DeleteGroup: removes a group no key maps to. Its replicas stay registered
// and keep the group they declared, so a group of the same id can be created
// from them again.
import { FailedPreconditionError } from '@bulwark/errors';
import type { CommandOutputs, DeleteGroupCommand } from '../commands';
import { checkId } from '../fields';
import type { StateView } from '../state-view';
import { requireGroup } from './group-checks';
import type { Outcome } from './outcome';

export function deleteGroup(state: StateView, command: DeleteGroupCommand): Outcome<CommandOutputs['deleteGroup']> {
  const group = requireGroup(state, checkId(command.groupId, 'group_id'));
  if (state.onRing(group.id)) {
    throw new FailedPreconditionError(
      'group_id',
      `group '${group.id}' is on the ring at version ${state.ring.version}; take it off with SetRing first`,
    );
  }
  return { value: { groupId: group.id }, changes: [{ type: 'groupDeleted', groupId: group.id }] };
}

// DeleteGroup: removes a group no key maps to. Its replicas stay registered
// and keep the group they declared, so a group of the same id can be created
// from them again.
import { FailedPreconditionError } from '@bulwark/errors';
import type { CommandOutputs, DeleteGroupCommand } from '../commands';
import { checkId } from '../fields';
import { withoutItem } from '../topology';
import type { Topology } from '../types';
import { requireGroup } from './group-checks';
import type { Outcome } from './outcome';

export function deleteGroup(topology: Topology, command: DeleteGroupCommand): Outcome<CommandOutputs['deleteGroup']> {
  const group = requireGroup(topology, checkId(command.groupId, 'group_id'));
  if (topology.ring.groups.some((ringGroup) => ringGroup.groupId === group.id)) {
    throw new FailedPreconditionError(
      'group_id',
      `group '${group.id}' is on the ring at version ${topology.ring.version}; take it off with SetRing first`,
    );
  }
  return {
    value: { groupId: group.id },
    change: { groups: withoutItem(topology.groups, group.id), changes: [{ type: 'groupDeleted', groupId: group.id }] },
  };
}

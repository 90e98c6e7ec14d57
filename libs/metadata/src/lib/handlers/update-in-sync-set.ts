// UpdateInSyncSet: PacificA's reconfiguration request. Only the primary at
// the current epoch may shrink the set (a backup stopped acknowledging) or
// grow it (a backup caught up), so a deposed primary can never remove the
// members that hold writes it did not see.
import { FailedPreconditionError, InvalidArgumentError } from '@bulwark/errors';
import type { CommandOutputs, UpdateInSyncSetCommand } from '../commands';
import { checkDistinctIds, checkId, checkUint64 } from '../fields';
import { groupMembersMax } from '../limits';
import type { StateView } from '../state-view';
import { frozenGroup } from '../topology';
import { requireCurrentEpoch, requireGroup, requirePrimary } from './group-checks';
import type { Outcome } from './outcome';

export function updateInSyncSet(
  state: StateView,
  command: UpdateInSyncSetCommand,
): Outcome<CommandOutputs['updateInSyncSet']> {
  const groupId = checkId(command.groupId, 'group_id');
  const epoch = checkUint64(command.epoch, 'epoch');
  const primaryId = checkId(command.primaryId, 'primary_id');
  const inSync = checkDistinctIds(command.inSync, 'in_sync', 1, groupMembersMax);
  if (!inSync.includes(primaryId)) throw new InvalidArgumentError('in_sync', `must contain primary_id '${primaryId}'`);
  const group = requireGroup(state, groupId);
  requireCurrentEpoch(group, epoch);
  requirePrimary(group, primaryId, 'primary_id');
  inSync.forEach((memberId, index) => {
    if (!group.members.includes(memberId)) {
      throw new FailedPreconditionError(`in_sync[${index}]`, `'${memberId}' is not a member of group '${groupId}'`);
    }
  });
  // Stored in the group's member order, so the same set is always the same list.
  const ordered = group.members.filter((memberId) => inSync.includes(memberId));
  if (ordered.length === group.inSync.length && ordered.every((memberId, index) => memberId === group.inSync[index])) {
    return { value: { group } };
  }
  const next = frozenGroup({ ...group, inSync: ordered });
  return { value: { group: next }, changes: [{ type: 'groupUpdated', group: next }] };
}

// CreateGroup: a new replica group whose first member is primary and whose
// members are all in sync (an empty group has no writes to miss). It holds
// no lease yet (primaryLeaseMs 0), so the primary must renew before it
// serves, and a failover need not wait.
//
// Its first epoch is the revision that creates it, not 1: a group id can be
// deleted and created again, and every epoch of the earlier incarnation is
// below the revision that deleted it (each epoch was set by a revision of
// its own). So a replica or a delayed message from the old incarnation can
// never pass the epoch fence of the new one.
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, ResourceExhaustedError } from '@bulwark/errors';
import type { CommandOutputs, CreateGroupCommand } from '../commands';
import { checkDistinctIds, checkId, checkMode } from '../fields';
import { groupMembersMax, topologyGroupsMax } from '../limits';
import type { StateView } from '../state-view';
import { frozenGroup } from '../topology';
import type { Outcome } from './outcome';

export function createGroup(state: StateView, command: CreateGroupCommand): Outcome<CommandOutputs['createGroup']> {
  const groupId = checkId(command.groupId, 'group_id');
  const members = checkDistinctIds(command.members, 'members', 1, groupMembersMax);
  const mode = checkMode(command.mode, 'mode');
  if (state.group(groupId)) throw new AlreadyExistsError('group_id', `group '${groupId}' exists`);
  if (state.groupCount >= topologyGroupsMax) {
    throw new ResourceExhaustedError('topologyGroupsMax', `${topologyGroupsMax} groups exist already`);
  }
  members.forEach((memberId, index) => checkJoinable(state, memberId, groupId, `members[${index}]`));
  // The revision apply() gives this change.
  const revision = state.revision + 1n;
  const group = frozenGroup({
    id: groupId,
    epoch: revision,
    primary: members[0] as string,
    members,
    inSync: members,
    mode,
    primaryLeaseRevision: revision,
    primaryLeaseMs: 0,
    handoverTarget: '',
  });
  return { value: { group }, changes: [{ type: 'groupUpdated', group }] };
}

/**
 * A member must be a registered replica that declared this group in its own
 * configuration, so a mistyped id cannot put another group's replica (and
 * its data) into this one. Such a replica is in no group yet: a group that
 * lists a replica always has the id the replica declared, and this one does
 * not exist.
 */
function checkJoinable(state: StateView, memberId: string, groupId: string, field: string): void {
  const member = state.member(memberId);
  if (!member) throw new NotFoundError(field, `no member '${memberId}' is registered`);
  if (member.role !== 'replica') {
    throw new FailedPreconditionError(field, `member '${memberId}' is a ${member.role}, not a replica`);
  }
  if (member.groupId !== groupId) {
    const declared = member.groupId === '' ? 'no group' : `group '${member.groupId}'`;
    throw new FailedPreconditionError(field, `member '${memberId}' declared ${declared}, not '${groupId}'`);
  }
}

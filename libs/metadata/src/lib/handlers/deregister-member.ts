// DeregisterMember: removes a member that nothing else in the topology
// stands on: a router, lock or monitor (stateless; one that stops says so,
// and an operator removes one that died for good), or a replica no group
// lists. A replica a group lists leaves only with its group (the group's
// members are its failover candidates). A member of the coordinator role is
// only a record someone registered (the Paxos peers are the ones
// BULWARK_PEERS names, which no command changes): it may go too.
import { FailedPreconditionError, NotFoundError } from '@bulwark/errors';
import type { CommandOutputs, DeregisterMemberCommand } from '../commands';
import { checkId } from '../fields';
import type { StateView } from '../state-view';
import type { Outcome } from './outcome';

export function deregisterMember(
  state: StateView,
  command: DeregisterMemberCommand,
): Outcome<CommandOutputs['deregisterMember']> {
  const memberId = checkId(command.memberId, 'member_id');
  const member = state.member(memberId);
  if (!member) throw new NotFoundError('member_id', `no member '${memberId}' is registered`);
  const group = state.groupOfMember(memberId);
  if (group) {
    throw new FailedPreconditionError(
      'member_id',
      `member '${memberId}' is a replica of group '${group.id}', which lists it; it leaves only with its group`,
    );
  }
  return { value: { memberId }, changes: [{ type: 'memberDeregistered', memberId }] };
}

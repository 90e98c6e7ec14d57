// DeregisterMember: removes a member that nothing else in the topology
// stands on: a router, lock or monitor (stateless; one that stops says so,
// and an operator removes one that died for good), or a replica no group
// lists. A replica a group lists leaves only with its group (the group's
// members are its failover candidates), and the coordinators are the Paxos
// peers their configuration names, which no command changes.
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
  if (member.role === 'coordinator') {
    throw new FailedPreconditionError(
      'member_id',
      `member '${memberId}' is a coordinator: the coordinators are the peers BULWARK_PEERS names`,
    );
  }
  const group = state.groupOfMember(memberId);
  if (group) {
    throw new FailedPreconditionError(
      'member_id',
      `member '${memberId}' is a replica of group '${group.id}', which lists it; it leaves only with its group`,
    );
  }
  return { value: { memberId }, changes: [{ type: 'memberDeregistered', memberId }] };
}

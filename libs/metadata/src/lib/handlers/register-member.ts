// RegisterMember: adds a member, or updates the addresses of a known one.
// Registering what is already stored is a repeat (a restarted service
// registers at every start) and takes no new revision.
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  ResourceExhaustedError,
} from '@bulwark/errors';
import type { CommandOutputs, RegisterMemberCommand } from '../commands';
import { checkAddress, checkId, checkRole } from '../fields';
import { topologyMembersMax } from '../limits';
import type { StateView } from '../state-view';
import { frozenMember } from '../topology';
import type { Member, MemberRole } from '../types';
import type { Outcome } from './outcome';

export function registerMember(
  state: StateView,
  command: RegisterMemberCommand,
): Outcome<CommandOutputs['registerMember']> {
  const requested: Partial<Member> | undefined = command.member;
  if (typeof requested !== 'object' || requested === null) throw new InvalidArgumentError('member', 'is required');
  const id = checkId(requested.id, 'member.id');
  const address = checkAddress(requested.address, 'member.address');
  const role = checkRole(requested.role, 'member.role');
  const metricsAddress =
    requested.metricsAddress === undefined || requested.metricsAddress === ''
      ? ''
      : checkAddress(requested.metricsAddress, 'member.metrics_address');
  const member = frozenMember({
    id,
    address,
    role,
    groupId: checkDeclaredGroup(role, requested.groupId),
    metricsAddress,
  });

  const existing = state.member(id);
  if (existing) {
    checkUpdate(state, existing, member);
    const unchanged =
      existing.address === member.address &&
      existing.groupId === member.groupId &&
      existing.metricsAddress === member.metricsAddress;
    if (unchanged) return { value: { member: existing } };
  } else if (state.memberCount >= topologyMembersMax) {
    throw new ResourceExhaustedError('topologyMembersMax', `${topologyMembersMax} members are registered already`);
  }
  const holder = state.memberAt(address);
  if (holder && holder.id !== id) {
    throw new AlreadyExistsError('member.address', `${address} is registered to member '${holder.id}'`);
  }
  return { value: { member }, changes: [{ type: 'memberRegistered', member }] };
}

/** Only a replica declares a group; the group need not exist yet (it is created from registered replicas). */
function checkDeclaredGroup(role: MemberRole, groupId: unknown): string {
  if (groupId === '') return '';
  if (role !== 'replica') throw new InvalidArgumentError('member.group_id', `must be empty for a ${role}`);
  return checkId(groupId, 'member.group_id');
}

function checkUpdate(state: StateView, existing: Member, member: Member): void {
  if (existing.role !== member.role) {
    throw new FailedPreconditionError(
      'member.role',
      `member '${member.id}' is registered as ${existing.role}; a member id keeps its role`,
    );
  }
  // A group's member list is the truth about membership: a replica it lists
  // cannot declare itself elsewhere (or nowhere) until the group is deleted.
  const placed = state.groupOfMember(member.id);
  if (placed && placed.id !== member.groupId) {
    throw new FailedPreconditionError(
      'member.group_id',
      `member '${member.id}' is in group '${placed.id}', which lists it; it cannot declare '${member.groupId}'`,
    );
  }
}

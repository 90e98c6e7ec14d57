import { coordinatorV1 } from '@bulwark/contracts';
import { memberRoleName, memberRoleOf, type MemberRoleName } from './member-roles';

describe('member roles', () => {
  it('maps every name to its contract role and back', () => {
    const names: MemberRoleName[] = ['coordinator', 'replica', 'router', 'lock', 'monitor'];
    expect(names.map((name) => memberRoleName(memberRoleOf(name)))).toEqual(names);
    expect(memberRoleOf('lock')).toBe(coordinatorV1.MemberRole.MEMBER_ROLE_LOCK);
  });

  it('has no name for UNSPECIFIED or a value the contract does not know', () => {
    expect(memberRoleName(coordinatorV1.MemberRole.MEMBER_ROLE_UNSPECIFIED)).toBeUndefined();
    expect(memberRoleName(99 as coordinatorV1.MemberRole)).toBeUndefined();
  });
});

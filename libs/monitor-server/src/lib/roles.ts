import { coordinatorV1 } from '@bulwark/contracts';

export type MemberRoleName = 'coordinator' | 'replica' | 'router' | 'lock' | 'monitor';

const { MemberRole } = coordinatorV1;

const names = new Map<coordinatorV1.MemberRole, MemberRoleName>([
  [MemberRole.MEMBER_ROLE_COORDINATOR, 'coordinator'],
  [MemberRole.MEMBER_ROLE_REPLICA, 'replica'],
  [MemberRole.MEMBER_ROLE_ROUTER, 'router'],
  [MemberRole.MEMBER_ROLE_LOCK, 'lock'],
  [MemberRole.MEMBER_ROLE_MONITOR, 'monitor'],
]);

/** The role's name, or undefined for an unspecified or unknown one. */
export function roleName(role: coordinatorV1.MemberRole): MemberRoleName | undefined {
  return names.get(role);
}

/** The contract's role for a name. */
export function roleOfName(name: MemberRoleName): coordinatorV1.MemberRole {
  for (const [role, roleName] of names) if (roleName === name) return role;
  throw new RangeError(`unknown role ${name}`);
}

// coordinator.v1's member roles by name, both ways: for the coordinators'
// own records and for anyone reading their topology (the monitor).
import { coordinatorV1 } from '@bulwark/contracts';

export type MemberRoleName = 'coordinator' | 'replica' | 'router' | 'lock' | 'monitor';

const { MemberRole } = coordinatorV1;

const roleOfName: Readonly<Record<MemberRoleName, coordinatorV1.MemberRole>> = {
  coordinator: MemberRole.MEMBER_ROLE_COORDINATOR,
  replica: MemberRole.MEMBER_ROLE_REPLICA,
  router: MemberRole.MEMBER_ROLE_ROUTER,
  lock: MemberRole.MEMBER_ROLE_LOCK,
  monitor: MemberRole.MEMBER_ROLE_MONITOR,
};

/** The contract's role for a name. */
export function memberRoleOf(name: MemberRoleName): coordinatorV1.MemberRole {
  return roleOfName[name];
}

/** The role's name; undefined for UNSPECIFIED or an unknown value (the caller names the field). */
export function memberRoleName(role: coordinatorV1.MemberRole): MemberRoleName | undefined {
  return (Object.keys(roleOfName) as MemberRoleName[]).find((name) => roleOfName[name] === role);
}

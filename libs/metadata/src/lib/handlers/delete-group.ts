// DeleteGroup: removes a group no key maps to, once its primary's lease has
// surely ended (the leader waits it out; apply refuses if a grant came
// since). Its replicas stay registered and keep the group they declared, so
// a group of the same id can be created from them again.
import { FailedPreconditionError } from '@bulwark/errors';
import type { CommandOutputs, DeleteGroupCommand } from '../commands';
import { checkId, checkUint64 } from '../fields';
import type { StateView } from '../state-view';
import { requireGroup, retryableFailedPrecondition } from './group-checks';
import type { Outcome } from './outcome';

export function deleteGroup(state: StateView, command: DeleteGroupCommand): Outcome<CommandOutputs['deleteGroup']> {
  const group = requireGroup(state, checkId(command.groupId, 'group_id'));
  const expectedLeaseRevision = checkUint64(
    command.expectedPrimaryLeaseRevision ?? 0n,
    'expected_primary_lease_revision',
  );
  if (state.onRing(group.id)) {
    throw new FailedPreconditionError(
      'group_id',
      `group '${group.id}' is on the ring at version ${state.ring.version}; take it off with SetRing first`,
    );
  }
  // As for a failover: the leader waited out the lease it saw; a grant since then must be waited out too.
  if (expectedLeaseRevision !== 0n && expectedLeaseRevision !== group.primaryLeaseRevision) {
    throw retryableFailedPrecondition(
      'expected_primary_lease_revision',
      `is ${expectedLeaseRevision}, but group '${group.id}' had its primary lease granted at revision ${group.primaryLeaseRevision} since; the leader must wait that lease out`,
    );
  }
  return { value: { groupId: group.id }, changes: [{ type: 'groupDeleted', groupId: group.id }] };
}

// Failover: the next epoch with a new primary from the in-sync set, only
// once the old primary's lease has surely ended (ARCHITECTURE "Failover").
// Whether it has ended is measured by the proposing leader on its own
// monotonic clock, which apply may not read. What apply can check is that
// no lease was granted after that decision: a renewal ordered before this
// command in the log changed primaryLeaseRevision, and then the failover is
// refused, retryably, so the leader decides again with the new grant.
//
// The new primary may be the current one: a primary that restarted must
// not lead the same epoch twice (it may have lost what it did not make
// durable), so the leader re-appoints it at the next epoch when its log is
// the most up-to-date. The next epoch always clears a handover target.
import { FailedPreconditionError } from '@bulwark/errors';
import type { CommandOutputs, FailoverCommand } from '../commands';
import { checkId, checkUint64 } from '../fields';
import type { StateView } from '../state-view';
import { frozenGroup } from '../topology';
import { requireGroup, retryableFailedPrecondition } from './group-checks';
import type { Outcome } from './outcome';

export function failover(state: StateView, command: FailoverCommand): Outcome<CommandOutputs['failover']> {
  const groupId = checkId(command.groupId, 'group_id');
  const expectedEpoch = checkUint64(command.expectedEpoch, 'expected_epoch');
  const newPrimary = checkId(command.newPrimary, 'target_primary');
  const expectedLeaseRevision = checkUint64(command.expectedPrimaryLeaseRevision, 'expected_primary_lease_revision');
  const group = requireGroup(state, groupId);
  if (expectedEpoch !== 0n && expectedEpoch !== group.epoch) {
    throw new FailedPreconditionError(
      'expected_epoch',
      `is ${expectedEpoch}, but group '${groupId}' is at epoch ${group.epoch}`,
    );
  }
  if (!group.inSync.includes(newPrimary)) {
    const where = group.members.includes(newPrimary) ? 'the in-sync set' : 'the members';
    throw new FailedPreconditionError('target_primary', `'${newPrimary}' is not in ${where} of group '${groupId}'`);
  }
  if (expectedLeaseRevision !== group.primaryLeaseRevision) {
    throw retryableFailedPrecondition(
      'expected_primary_lease_revision',
      `is ${expectedLeaseRevision}, but group '${groupId}' had its primary lease granted (or its epoch started) at revision ${group.primaryLeaseRevision} since; the leader must wait that lease out`,
    );
  }
  const revision = state.revision + 1n;
  const next = frozenGroup({
    ...group,
    epoch: group.epoch + 1n,
    primary: newPrimary,
    // The old primary may hold writes nobody acknowledged that the new one
    // lacks: it rejoins the in-sync set only after truncating and catching
    // up, through the new primary's UpdateInSyncSet. Re-appointed, it keeps
    // the set: the others were in sync with it.
    inSync: newPrimary === group.primary ? group.inSync : group.inSync.filter((memberId) => memberId !== group.primary),
    // No lease at the new epoch until the new primary renews.
    primaryLeaseRevision: revision,
    primaryLeaseMs: 0,
    handoverTarget: '',
  });
  return { value: { group: next }, changes: [{ type: 'groupUpdated', group: next }] };
}

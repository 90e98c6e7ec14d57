// Failover: the next epoch with a new primary from the in-sync set, only
// once the old primary's lease has surely ended (ARCHITECTURE "Failover").
// The leader checked this when it proposed, but a renewal ordered before
// this command in the log may have extended the lease since, so apply
// checks again against the state the log has reached.
import { FailedPreconditionError } from '@bulwark/errors';
import type { CommandOutputs, FailoverCommand } from '../commands';
import { checkId, checkLeaseDriftMs, checkUint64, checkUnixMs } from '../fields';
import { frozenGroup, withItem } from '../topology';
import type { Topology } from '../types';
import { requireGroup } from './group-checks';
import type { Outcome } from './outcome';

export function failover(topology: Topology, command: FailoverCommand): Outcome<CommandOutputs['failover']> {
  const groupId = checkId(command.groupId, 'group_id');
  const expectedEpoch = checkUint64(command.expectedEpoch, 'expected_epoch');
  const newPrimary = checkId(command.newPrimary, 'target_primary');
  const nowMs = checkUnixMs(command.nowMs, 'now_unix_ms');
  const leaseDriftMs = checkLeaseDriftMs(command.leaseDriftMs, 'lease_drift_ms');
  const group = requireGroup(topology, groupId);
  if (expectedEpoch !== 0n && expectedEpoch !== group.epoch) {
    throw new FailedPreconditionError(
      'expected_epoch',
      `is ${expectedEpoch}, but group '${groupId}' is at epoch ${group.epoch}`,
    );
  }
  if (newPrimary === group.primary) {
    throw new FailedPreconditionError('target_primary', `'${newPrimary}' is the primary of group '${groupId}' already`);
  }
  if (!group.inSync.includes(newPrimary)) {
    const where = group.members.includes(newPrimary) ? 'the in-sync set' : 'the members';
    throw new FailedPreconditionError('target_primary', `'${newPrimary}' is not in ${where} of group '${groupId}'`);
  }
  // Checked even while the group has no primary: a lease granted at this
  // epoch may still be held by the member that lost the role.
  const leaseEndMs = group.primaryLeaseExpiryMs + leaseDriftMs;
  if (nowMs < leaseEndMs) {
    throw new FailedPreconditionError(
      'primary_lease_expiry_unix_ms',
      `the lease of group '${groupId}' may be held until ${group.primaryLeaseExpiryMs} + drift ${leaseDriftMs} = ${leaseEndMs}; now is ${nowMs}`,
    );
  }
  const next = frozenGroup({
    ...group,
    epoch: group.epoch + 1n,
    primary: newPrimary,
    // The old primary may hold writes nobody acknowledged that the new one
    // lacks: it rejoins the in-sync set only after truncating and catching
    // up, through the new primary's UpdateInSyncSet.
    inSync: group.inSync.filter((memberId) => memberId !== group.primary),
    // No lease at the new epoch until the new primary renews. The expiry
    // still never moves back: nowMs >= the old expiry, checked above.
    primaryLeaseExpiryMs: nowMs,
  });
  return {
    value: { group: next },
    change: { groups: withItem(topology.groups, next), changes: [{ type: 'groupUpdated', group: next }] },
  };
}

// RenewPrimaryLease: grants the primary at its epoch a lease of leaseMs. No
// expiry is stored: the primary counts the lease on its own monotonic clock
// from before it sent the request, and the leader counts lease plus drift on
// its own from when it applied the grant (wall clocks of different machines
// are never compared). Every grant is a new revision that moves
// primaryLeaseRevision, so a failover decided before it is refused at apply;
// primaryLeaseMs keeps the longest lease of the epoch, which a leader that
// did not see the grants must wait out. While the group hands over to
// another member no lease is granted at this epoch, so the current one runs
// out and the leader can fail the group over (start-handover.ts).
import type { CommandOutputs, RenewPrimaryLeaseCommand } from '../commands';
import { checkId, checkLeaseMs, checkUint64 } from '../fields';
import type { StateView } from '../state-view';
import { frozenGroup } from '../topology';
import { requireCurrentEpoch, requireGroup, requirePrimary, retryableFailedPrecondition } from './group-checks';
import type { Outcome } from './outcome';

export function renewPrimaryLease(
  state: StateView,
  command: RenewPrimaryLeaseCommand,
): Outcome<CommandOutputs['renewPrimaryLease']> {
  const groupId = checkId(command.groupId, 'group_id');
  const memberId = checkId(command.memberId, 'member_id');
  const epoch = checkUint64(command.epoch, 'epoch');
  const leaseMs = checkLeaseMs(command.leaseMs, 'lease_ms');
  const group = requireGroup(state, groupId);
  // Epoch first: a deposed primary learns that it was replaced.
  requireCurrentEpoch(group, epoch);
  requirePrimary(group, memberId, 'member_id');
  if (group.handoverTarget !== '') {
    // Retryable: the next epoch comes by itself, and the primary learns it from the topology.
    throw retryableFailedPrecondition(
      'handover_target',
      `group '${groupId}' is handing over to '${group.handoverTarget}' at epoch ${epoch}: no lease is granted at this epoch any more; the next epoch starts once the current lease has ended`,
    );
  }
  const next = frozenGroup({
    ...group,
    primaryLeaseRevision: state.revision + 1n,
    primaryLeaseMs: Math.max(group.primaryLeaseMs, leaseMs),
  });
  return { value: { group: next, leaseMs }, changes: [{ type: 'groupUpdated', group: next }] };
}

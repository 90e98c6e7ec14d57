// RenewPrimaryLease: extends the lease of the primary at its epoch. The
// expiry only moves forward: a renewal proposed with an older clock reading
// (a new coordinator leader whose clock is behind) must not shorten a lease
// the primary already relies on. A renewal that does not move it changes
// nothing and takes no revision, but still grants leaseMs: the stored expiry
// already covers nowMs + leaseMs.
import type { CommandOutputs, RenewPrimaryLeaseCommand } from '../commands';
import { checkId, checkLeaseMs, checkUint64, checkUnixMs } from '../fields';
import { frozenGroup, withItem } from '../topology';
import type { Topology } from '../types';
import { requireCurrentEpoch, requireGroup, requirePrimary } from './group-checks';
import type { Outcome } from './outcome';

export function renewPrimaryLease(
  topology: Topology,
  command: RenewPrimaryLeaseCommand,
): Outcome<CommandOutputs['renewPrimaryLease']> {
  const groupId = checkId(command.groupId, 'group_id');
  const memberId = checkId(command.memberId, 'member_id');
  const epoch = checkUint64(command.epoch, 'epoch');
  const nowMs = checkUnixMs(command.nowMs, 'now_unix_ms');
  const leaseMs = checkLeaseMs(command.leaseMs, 'lease_ms');
  const group = requireGroup(topology, groupId);
  // Epoch first: a deposed primary learns that it was replaced.
  requireCurrentEpoch(group, epoch);
  requirePrimary(group, memberId, 'member_id');
  const requestedExpiryMs = nowMs + BigInt(leaseMs);
  if (requestedExpiryMs <= group.primaryLeaseExpiryMs) return { value: { group, leaseMs } };
  const next = frozenGroup({ ...group, primaryLeaseExpiryMs: requestedExpiryMs });
  return {
    value: { group: next, leaseMs },
    change: { groups: withItem(topology.groups, next), changes: [{ type: 'groupUpdated', group: next }] },
  };
}

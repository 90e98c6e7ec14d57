// When this member applied each group's latest primary-lease grant, or the
// start of its epoch, on its own monotonic clock: what its leader uses to
// decide that the old primary's lease has surely ended before a failover,
// and that a primary has stopped renewing (the automatic failover). It is
// local, not replicated (no clock may enter the replicated state), and needs
// no agreement on time:
//
// The primary counts lease_ms on its own monotonic clock from just before it
// sent the renewal, which is before any coordinator applied the grant. So
// once lease_ms plus the drift bound has passed on this member's clock since
// it applied the grant, the lease has ended, whatever the clocks' offsets or
// steps, as long as their rates differ by less than the drift bound allows
// (README, "Primary leases"). A grant this member did not see being applied
// (it was in a snapshot, or before this member led) counts from when the
// member installed the snapshot or became leader, which is later still.
import type { ReplicaGroup, TopologyEvent } from '@bulwark/metadata';

export class LeaseGrants {
  /**
   * Monotonic ms at which this member applied a group's last grant, or the
   * start of its epoch (creation, failover) while none came; only groups
   * that exist, so at most topologyGroupsMax.
   */
  private readonly appliedAtMs = new Map<string, number>();

  constructor(private readonly monotonicNowMs: () => number) {}

  /**
   * Notes the grants and epoch starts among one applied command's events: a
   * group whose lease revision is the event's own revision was just granted
   * a lease (primaryLeaseMs > 0) or began an epoch without one. A deleted
   * group is forgotten.
   */
  noteEvents(events: readonly TopologyEvent[]): void {
    for (const { revision, change } of events) {
      if (change.type === 'groupDeleted') this.appliedAtMs.delete(change.groupId);
      if (change.type !== 'groupUpdated') continue;
      const { id, primaryLeaseRevision } = change.group;
      if (primaryLeaseRevision === revision) this.appliedAtMs.set(id, this.monotonicNowMs());
    }
  }

  /** After installing a snapshot: when its grants were applied is unknown, so each counts from now. */
  noteSnapshot(groups: readonly ReplicaGroup[]): void {
    this.appliedAtMs.clear();
    const nowMs = this.monotonicNowMs();
    for (const group of groups) this.appliedAtMs.set(group.id, nowMs);
  }

  /**
   * How many ms must still pass on this member's monotonic clock before
   * `group` may fail over: its longest lease of the epoch plus the drift
   * bound, counted from when this member applied the last grant or became
   * leader, whichever is later. 0 when the lease has surely ended, or the
   * primary was granted none at this epoch.
   */
  failoverWaitMs(group: ReplicaGroup, leaderSinceMs: number, clockDriftMs: number): number {
    if (group.primaryLeaseMs === 0) return 0;
    return Math.max(
      0,
      Math.ceil(this.leaseEndMs(group, leaderSinceMs, group.primaryLeaseMs, clockDriftMs) - this.monotonicNowMs()),
    );
  }

  /**
   * How long ago (ms, on this member's monotonic clock) the group's primary
   * stopped holding a lease, as the automatic failover sees it; negative
   * while it may still hold one or may still be about to renew. With a grant
   * at this epoch that is when failoverWaitMs reaches 0. Without one, a new
   * epoch gets `leaseMs` (the lease a renewal would grant) plus the drift
   * bound to renew, from when this member applied its start or became
   * leader, so a group just created or failed over is not failed over at
   * once.
   */
  sinceLeaseEndedMs(group: ReplicaGroup, leaderSinceMs: number, leaseMs: number, clockDriftMs: number): number {
    const heldMs = group.primaryLeaseMs > 0 ? group.primaryLeaseMs : leaseMs;
    return this.monotonicNowMs() - this.leaseEndMs(group, leaderSinceMs, heldMs, clockDriftMs);
  }

  private leaseEndMs(group: ReplicaGroup, leaderSinceMs: number, leaseMs: number, clockDriftMs: number): number {
    const countedFromMs = Math.max(leaderSinceMs, this.appliedAtMs.get(group.id) ?? leaderSinceMs);
    return countedFromMs + leaseMs + clockDriftMs;
  }
}

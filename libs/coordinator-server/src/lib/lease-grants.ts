// When this member applied each group's latest primary-lease grant, on its
// own monotonic clock: what its leader uses to decide that the old primary's
// lease has surely ended before a failover. It is local, not replicated (no
// clock may enter the replicated state), and needs no agreement on time:
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
  /** Monotonic ms at which a grant was applied, by group id; only groups that exist, so at most topologyGroupsMax. */
  private readonly appliedAtMs = new Map<string, number>();

  constructor(private readonly monotonicNowMs: () => number) {}

  /**
   * Notes the grants among one applied command's events: a group whose lease
   * revision is the event's own revision and that holds a lease was just
   * granted one. A deleted group is forgotten.
   */
  noteEvents(events: readonly TopologyEvent[]): void {
    for (const { revision, change } of events) {
      if (change.type === 'groupDeleted') this.appliedAtMs.delete(change.groupId);
      if (change.type !== 'groupUpdated') continue;
      const { id, primaryLeaseRevision, primaryLeaseMs } = change.group;
      if (primaryLeaseRevision === revision && primaryLeaseMs > 0) this.appliedAtMs.set(id, this.monotonicNowMs());
    }
  }

  /** After installing a snapshot: when its grants were applied is unknown, so each counts from now. */
  noteSnapshot(groups: readonly ReplicaGroup[]): void {
    this.appliedAtMs.clear();
    const nowMs = this.monotonicNowMs();
    for (const group of groups) if (group.primaryLeaseMs > 0) this.appliedAtMs.set(group.id, nowMs);
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
    const countedFromMs = Math.max(leaderSinceMs, this.appliedAtMs.get(group.id) ?? leaderSinceMs);
    return Math.max(0, Math.ceil(countedFromMs + group.primaryLeaseMs + clockDriftMs - this.monotonicNowMs()));
  }
}

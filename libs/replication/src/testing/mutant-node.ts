// Planted bugs in the replication core, to show the simulator catches each
// class it claims to. Production code never constructs these.
import type { GroupView } from '../lib/messages';
import { ReplicaNode, type RecoveredReplica } from '../lib/node';
import { PrimaryRole, type PrimaryContext } from '../lib/primary-role';
import type { ReplicationSettings } from '../lib/settings';

export const replicationMutations = [
  /** Sync writes commit on the primary's own fsync, without waiting for the in-sync backups. */
  'ack-before-backups',
  /** Backups follow a primary of an older epoch instead of refusing it. */
  'no-epoch-check',
  /** A backup keeps its divergent suffix instead of truncating it. */
  'no-truncation',
  /** STRONG reads under the lease without waiting for the epoch's first entry to apply. */
  'read-without-barrier',
  /** A backup joins the in-sync set before an entry of the primary's epoch committed. */
  'add-before-barrier',
  /** A backup counts itself fresh as of a batch's arrival, not as of the ack the batch echoes. */
  'fresh-on-arrival',
  /** A member takes an older view of its epoch (a late watch event) over a newer one (an in-sync change's answer). */
  'stale-view',
  /** A primary's batches vouch for backups' freshness without its lease or before its epoch's first entry committed. */
  'vouch-without-lease',
] as const;

export type ReplicationMutation = (typeof replicationMutations)[number];

class MutantPrimaryRole extends PrimaryRole {
  constructor(
    private readonly mutation: ReplicationMutation,
    context: PrimaryContext,
    view: GroupView,
    committed: bigint,
  ) {
    super(context, view, committed);
  }

  protected override syncedThrough(): bigint {
    return this.mutation === 'ack-before-backups' ? this.context.durable() : super.syncedThrough();
  }

  protected override mayAddToInSync(match: bigint): boolean {
    return this.mutation === 'add-before-barrier' ? match >= this.commit : super.mayAddToInSync(match);
  }

  protected override vouchesForFreshness(): boolean {
    return this.mutation === 'vouch-without-lease' ? true : super.vouchesForFreshness();
  }

  override canReadStrongly(nowMs: number, applied: bigint): boolean {
    return this.mutation === 'read-without-barrier' ? this.holdsLease(nowMs) : super.canReadStrongly(nowMs, applied);
  }
}

export class MutantReplicaNode extends ReplicaNode {
  constructor(
    private readonly mutation: ReplicationMutation,
    id: string,
    settings: ReplicationSettings,
    recovered: RecoveredReplica,
    nowMs: number,
  ) {
    super(id, settings, recovered, nowMs);
  }

  protected override createPrimaryRole(context: PrimaryContext, view: GroupView, committed: bigint): PrimaryRole {
    return new MutantPrimaryRole(this.mutation, context, view, committed);
  }

  protected override refusesEpoch(epoch: bigint): boolean {
    return this.mutation === 'no-epoch-check' ? false : super.refusesEpoch(epoch);
  }

  protected override isOlderThanViewSeen(view: GroupView): boolean {
    return this.mutation === 'stale-view' ? false : super.isOlderThanViewSeen(view);
  }

  protected override keepsDivergentEntries(): boolean {
    return this.mutation === 'no-truncation';
  }

  protected override countsFreshOnArrival(): boolean {
    return this.mutation === 'fresh-on-arrival';
  }
}

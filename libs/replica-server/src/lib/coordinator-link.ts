// A replica's link to the coordinators: its group's record from the
// topology watch (as the core's GroupView), members' addresses, lease
// renewals and in-sync changes at the leader, and the bootstrap that
// creates the group and puts it on the ring on a fresh fleet.
import { coordinatorV1 } from '@bulwark/contracts';
import { AlreadyExistsError, BulwarkError, FailedPreconditionError, InvalidArgumentError } from '@bulwark/errors';
import { CoordinatorCaller, TopologyWatcher } from '@bulwark/coordinator-client';
import type { Logger } from '@bulwark/logging';
import type { Durability, GroupView } from '@bulwark/replication';
import type { CoordinatorPort } from './replica-runner';

const { ReplicationMode } = coordinatorV1;

/** The core's view of `group` as the coordinators' record had it at `revision`. */
export function groupView(group: coordinatorV1.ReplicaGroup, revision: bigint): GroupView {
  return {
    revision,
    epoch: group.epoch,
    primary: group.primary,
    members: [...group.members],
    inSync: [...group.inSync],
    mode: group.mode === ReplicationMode.REPLICATION_MODE_ASYNC ? 'async' : 'sync',
  };
}

export interface CoordinatorLinkOptions {
  readonly memberId: string;
  readonly groupId: string;
  readonly coordinators: readonly string[];
  readonly logger: Logger;
  /** Deadline of one lease renewal, retries included: a late grant is worth less than the next one. */
  readonly renewDeadlineMs: number;
}

export class CoordinatorLink implements CoordinatorPort {
  readonly caller: CoordinatorCaller;
  readonly watcher: TopologyWatcher;

  constructor(private readonly options: CoordinatorLinkOptions) {
    this.caller = new CoordinatorCaller({ coordinators: options.coordinators, logger: options.logger });
    this.watcher = new TopologyWatcher({ coordinators: options.coordinators, logger: options.logger });
  }

  start(onView: (view: GroupView) => void): void {
    this.watcher.onChange((topology) => {
      const group = topology.groups.find((candidate) => candidate.id === this.options.groupId);
      if (group) onView(groupView(group, topology.revision));
    });
    this.watcher.start();
  }

  addressOf(memberId: string): string | undefined {
    return this.watcher.current()?.topology.members.find((member) => member.id === memberId)?.address;
  }

  async renewLease(epoch: bigint): Promise<number | undefined> {
    const { groupId, memberId } = this.options;
    try {
      const response = await this.caller.call(
        'renewPrimaryLease',
        { groupId, memberId, epoch, requestId: '' },
        { deadlineMs: this.options.renewDeadlineMs, attemptDeadlineMs: this.options.renewDeadlineMs },
      );
      return response.leaseMs;
    } catch (error) {
      if (error instanceof FailedPreconditionError) return undefined;
      throw error;
    }
  }

  async updateInSync(epoch: bigint, inSync: readonly string[], requestId: string): Promise<GroupView | undefined> {
    const { groupId, memberId } = this.options;
    try {
      const response = await this.caller.call(
        'updateInSyncSet',
        { groupId, epoch, primaryId: memberId, inSync: [...inSync], requestId },
        { deadlineMs: 2_000 },
      );
      // Without the revision it was read at, a view could not be ordered against the watch's: the watch brings it.
      return response.group && response.header ? groupView(response.group, response.header.revision) : undefined;
    } catch (error) {
      if (error instanceof FailedPreconditionError) return undefined;
      throw error;
    }
  }

  /**
   * On a fresh fleet: creates the group with the configured members (the
   * first is its first primary) once they have all registered, then puts it
   * on the ring. Any member may do it; the others find it done.
   */
  async bootstrap(members: readonly string[], mode: Durability, deadlineMs: number): Promise<void> {
    const { groupId, logger } = this.options;
    const deadline = Date.now() + deadlineMs;
    const protoMode = mode === 'async' ? ReplicationMode.REPLICATION_MODE_ASYNC : ReplicationMode.REPLICATION_MODE_SYNC;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.caller.call(
          'createGroup',
          // A fresh request id each time: a refusal (a member not registered yet) must not be remembered as the answer.
          { groupId, members: [...members], mode: protoMode, requestId: '' },
          { deadlineMs: Math.max(1, Math.min(5_000, deadline - Date.now())) },
        );
        logger.info({ groupId, members }, 'created the replica group');
        break;
      } catch (error) {
        if (error instanceof AlreadyExistsError) break;
        // Members still registering: wait for them.
        const settled = !(error instanceof BulwarkError) || error instanceof InvalidArgumentError;
        if (settled || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** attempt)));
      }
    }
    await this.joinRing(deadline);
  }

  private async joinRing(deadline: number): Promise<void> {
    const { groupId, logger } = this.options;
    for (;;) {
      const topology = await this.watcher.waitFor(() => true, Math.max(1, deadline - Date.now()));
      const ring = topology.ring;
      if (ring?.groups.some((group) => group.groupId === groupId)) return;
      try {
        await this.caller.call(
          'setRing',
          {
            expectedVersion: ring?.version ?? 0n,
            virtualNodesPerWeight: ring?.virtualNodesPerWeight || 64,
            groups: [...(ring?.groups ?? []), { groupId, weight: 1 }],
            requestId: '',
          },
          { deadlineMs: Math.max(1, Math.min(5_000, deadline - Date.now())) },
        );
        logger.info({ groupId }, 'put the group on the ring');
        return;
      } catch (error) {
        // Another group joined first: read the ring again and retry.
        if (!(error instanceof FailedPreconditionError) || Date.now() > deadline) throw error;
        await this.watcher
          .waitFor((next) => (next.ring?.version ?? 0n) !== (ring?.version ?? 0n), 2_000)
          .catch(() => undefined);
      }
    }
  }

  close(): void {
    this.watcher.close();
    this.caller.close();
  }
}

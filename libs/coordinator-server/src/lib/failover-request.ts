// The Failover RPC, on the automatic failover's path (failovers.ts):
//
// - the old primary's lease has surely ended (or it holds none at this
//   epoch): the group fails over now, to target_primary, or to the in-sync
//   member with the most up-to-date log by GetDurableState;
// - the lease may still be held (the primary is healthy): deposing it now
//   could make two primaries, and refusing until the lease ends would never
//   end while it renews. So the call commits a handover marker
//   (StartHandover) instead: from then on renewals at this epoch are
//   refused, the lease runs out on the primary's own clock, and the
//   automatic failover moves the group to the target once the lease has
//   surely ended. The call waits for that new epoch, bounded by its
//   deadline and by lease + drift + handoverGraceMs; past that the handover
//   still completes without it.
import { DeadlineExceededError, FailedPreconditionError, NotFoundError } from '@bulwark/errors';
import type { FailoverCommand, ReplicaGroup, RequestKey, StartHandoverCommand } from '@bulwark/metadata';
import { durableStateDeadlineMs, type DurableState } from './durable-states';
import type { Failovers } from './failovers';
import { mostUpToDate, NoDurableStateError } from './primary-choice';

/** Time beyond lease + drift a call waits for a handover: a check interval, a round of asking, a commit, with room. */
export const handoverGraceMs = 2_000;

export interface FailoverRequest {
  readonly groupId: string;
  /** The group's epoch as the caller saw it (required: the fence against moving the primary twice). */
  readonly expectedEpoch: bigint;
  /** '' lets the durable states choose. */
  readonly targetPrimary: string;
}

export interface HandoverWait {
  /** How long the caller's deadline leaves, in ms (Infinity without one). */
  readonly callerRemainingMs: number;
  /** Aborts when the caller cancels. */
  readonly signal: AbortSignal;
}

export interface FailoverOutcome {
  /** The revision of the failover, or the one at which this member saw a handover's new epoch applied. */
  readonly revision: bigint;
  /** The group at its new epoch. */
  readonly group: ReplicaGroup;
}

/** Fails the group over or hands it over (see above); resolves with the group at its new epoch. */
export async function requestFailover(
  failovers: Failovers,
  request: FailoverRequest,
  key: RequestKey | undefined,
  wait: HandoverWait,
): Promise<FailoverOutcome> {
  const { groupId, expectedEpoch, targetPrimary: target } = request;
  const { replica, clockDriftMs } = failovers.options;
  const { machine, leaseGrants } = replica;
  let answers: readonly DurableState[] = [];
  let asked: readonly string[] = [];
  const committed = await failovers.exclusive(groupId, () =>
    failovers.proposer.change<FailoverCommand | StartHandoverCommand>(
      {
        prepare: async () => {
          const group = machine.group(groupId);
          // A target needs no asking; a wrong epoch or a handover under way is decided without it.
          if (target !== '' || group?.epoch !== expectedEpoch || group.handoverTarget !== '') return;
          const leaseHeld = leaseGrants.failoverWaitMs(group, failovers.proposer.requireLeading(), clockDriftMs) > 0;
          // While the primary may hold its lease the call moves the role away from it.
          asked = leaseHeld ? group.inSync.filter((memberId) => memberId !== group.primary) : group.inSync;
          answers = await failovers.ask(groupId, asked);
        },
        decide: (leaderSinceMs) => {
          const group = machine.group(groupId);
          if (!group) throw new NotFoundError('group_id', `no group '${groupId}'`);
          if (group.epoch !== expectedEpoch) {
            throw new FailedPreconditionError(
              'expected_epoch',
              `is ${expectedEpoch}, but group '${groupId}' is at epoch ${group.epoch}`,
            );
          }
          const handingOverTo = group.handoverTarget;
          if (handingOverTo !== '' && (target === '' || target === handingOverTo)) {
            // Joins the handover under way (a retry, or another caller): changes nothing, then waits.
            return { type: 'startHandover', groupId, expectedEpoch, target: handingOverTo };
          }
          if (leaseGrants.failoverWaitMs(group, leaderSinceMs, clockDriftMs) === 0) {
            return failovers.decideFailover(groupId, expectedEpoch, answers, asked, target);
          }
          const handTo = target || mostUpToDate(group, answers, group.primary);
          if (handTo) return { type: 'startHandover', groupId, expectedEpoch, target: handTo };
          if (group.inSync.length <= 1) {
            throw new FailedPreconditionError(
              'target_primary',
              `group '${groupId}' has no in-sync member but its primary '${group.primary}' to hand over to`,
            );
          }
          throw new NoDurableStateError(group, asked, durableStateDeadlineMs);
        },
        gate: (command, leaderSinceMs) => {
          if (command.type === 'failover') failovers.requireLeaseEnded(command, leaderSinceMs);
        },
      },
      key,
    ),
  );
  const { group } = committed.value;
  // A failover (or the remembered outcome of one): the new epoch is here.
  if (group.epoch !== expectedEpoch) return { revision: committed.revision, group };
  return awaitHandover(failovers, group, committed.revision, wait);
}

/** Waits for the group handing over to leave its epoch; the marker's commit was `startRevision`. */
async function awaitHandover(
  failovers: Failovers,
  handingOver: ReplicaGroup,
  startRevision: bigint,
  wait: HandoverWait,
): Promise<FailoverOutcome> {
  const { replica, primaryLeaseMs, clockDriftMs } = failovers.options;
  const { machine } = replica;
  const { id: groupId, epoch } = handingOver;
  const leaseMs = Math.max(handingOver.primaryLeaseMs, primaryLeaseMs);
  const boundMs = Math.min(wait.callerRemainingMs, leaseMs + clockDriftMs + handoverGraceMs);
  let seenRevision = machine.revision;
  const moved = await replica.whenApplied(
    () => {
      seenRevision = machine.revision;
      return machine.group(groupId)?.epoch !== epoch;
    },
    boundMs,
    wait.signal,
  );
  if (!moved) {
    throw new DeadlineExceededError(
      `group '${groupId}' is handing over to '${handingOver.handoverTarget}' (marked at revision ${startRevision}), and epoch ${epoch} did not end within ${Math.round(boundMs)} ms; the handover goes on: the leader fails the group over once the lease has ended and an in-sync member answers GetDurableState`,
    );
  }
  const group = machine.group(groupId);
  if (!group) throw new NotFoundError('group_id', `group '${groupId}' was deleted while it handed over`);
  return { revision: seenRevision, group };
}

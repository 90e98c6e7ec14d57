// The leader's automatic failover, and the one-round-per-group rule that
// the Failover RPC shares with it (failover-request.ts).
//
// Every failoverCheckIntervalMs, while this member leads and has applied
// what earlier leaders committed, every group is looked at: a group whose
// primary has stopped holding a lease on this leader's monotonic clock
// (lease + drift since the last grant; a new epoch, or a leader that just
// took over, first gives the primary a lease length to renew) is failed
// over. The in-sync members are asked for their durable state at once, the
// most up-to-date one that answers is chosen (primary-choice.ts), and the
// failover is proposed with its fences: the gate checks once more that the
// lease has surely ended, and apply refuses it if a grant came in since the
// decision. A renewal that wins that race is no failure: the primary is
// alive, and the next check decides again. Nobody answering is: the group is
// tried again after a backoff that grows to failoverRetryBackoffMs.max, so a
// dead group costs one round a second, not one a check.
import { FailedPreconditionError, NotFoundError, NotLeaderError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import {
  retryableFailedPrecondition,
  type DeleteGroupCommand,
  type FailoverCommand,
  type ReplicaGroup,
} from '@bulwark/metadata';
import { ChangeProposer, type CoordinatorRunner } from './change-proposer';
import { durableStateDeadlineMs, type DurableState, type DurableStateSource } from './durable-states';
import type { MetadataReplica } from './metadata-replica';
import { NoDurableStateError, nextPrimary } from './primary-choice';

/** How often the leader looks for groups whose primary lease has lapsed. */
export const failoverCheckIntervalMs = 25;
/** After a failed round (nobody answered, a proposal failed), the next one waits initial, doubling up to max. */
export const failoverRetryBackoffMs = { initial: 50, max: 1_000 };
/** A group's failed rounds are logged as warnings on the first and every this many after; the rest at debug. */
const failureWarningEvery = 30;

export interface FailoverOptions {
  runner: CoordinatorRunner;
  replica: MetadataReplica;
  durableStates: DurableStateSource;
  logger: Logger;
  /** The lease RenewPrimaryLease grants: what a new epoch's primary gets to renew in. */
  primaryLeaseMs: number;
  /** Bound on how far clock rates may make a lease outlast lease_ms. */
  clockDriftMs: number;
  /** The monotonic clock lease grants are timed with (the runner's). */
  nowMs: () => number;
}

/** A group whose last automatic round failed: when it may be tried again (at this epoch). */
interface Retry {
  readonly epoch: bigint;
  readonly failures: number;
  readonly retryAtMs: number;
}

/** Refusals that mean "not now, and rightly so": the primary renewed, or the group moved on. */
const settledFields = new Set(['primary_lease_revision', 'expected_primary_lease_revision', 'expected_epoch']);

export class Failovers {
  readonly proposer: ChangeProposer;
  /** The round in flight per group (settles, never rejects); so at most topologyGroupsMax. */
  private readonly rounds = new Map<string, Promise<void>>();
  /** At most one per group; dropped on success, on a new epoch, and with the group. */
  private readonly retries = new Map<string, Retry>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(readonly options: FailoverOptions) {
    this.proposer = new ChangeProposer(options.runner, options.replica);
  }

  start(): void {
    this.timer = setInterval(() => {
      // Rounds catch their own failures; anything else is a bug, logged rather than left unhandled.
      this.check().catch((error: unknown) => this.options.logger.error({ err: error }, 'failover check failed'));
    }, failoverCheckIntervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.options.durableStates.close();
  }

  /**
   * One look at every group (the timer's, or a test's): starts a round for
   * each group whose lease has lapsed, none is in flight for, and no backoff
   * holds back. Resolves once the rounds it started have settled.
   */
  async check(): Promise<void> {
    if (this.stopped) return;
    const { runner, replica, primaryLeaseMs, clockDriftMs } = this.options;
    const leaderSinceMs = runner.leaderSinceMs();
    if (leaderSinceMs === undefined || !runner.hasAppliedBarrier()) return;
    const nowMs = this.options.nowMs();
    const started: Promise<void>[] = [];
    for (const group of replica.machine.topology.groups) {
      if (group.primary === '' || this.rounds.has(group.id)) continue;
      const sinceLeaseEndedMs = replica.leaseGrants.sinceLeaseEndedMs(
        group,
        leaderSinceMs,
        primaryLeaseMs,
        clockDriftMs,
      );
      if (sinceLeaseEndedMs < 0) continue;
      const retry = this.retries.get(group.id);
      if (retry && retry.epoch === group.epoch && nowMs < retry.retryAtMs) continue;
      started.push(this.exclusive(group.id, () => this.automaticRound(group, nowMs - sinceLeaseEndedMs)));
    }
    for (const groupId of this.retries.keys()) if (!replica.machine.group(groupId)) this.retries.delete(groupId);
    await Promise.all(started);
  }

  /**
   * Runs `round` as the group's one round, once any round in flight for it
   * has settled: two rounds could each decide on the same state.
   */
  async exclusive<T>(groupId: string, round: () => Promise<T>): Promise<T> {
    for (let inFlight = this.rounds.get(groupId); inFlight; inFlight = this.rounds.get(groupId)) await inFlight;
    const running = round();
    const settled: Promise<void> = running
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        if (this.rounds.get(groupId) === settled) this.rounds.delete(groupId);
      });
    this.rounds.set(groupId, settled);
    return running;
  }

  /** Resolves once no round is in flight (a test's way to know a Failover call's round has ended). */
  async idle(): Promise<void> {
    while (this.rounds.size > 0) await Promise.all(this.rounds.values());
  }

  /** The durable state of each of the group's `memberIds` that answers. */
  async ask(groupId: string, memberIds: readonly string[]): Promise<DurableState[]> {
    const { machine } = this.options.replica;
    const members = memberIds.flatMap((id) => {
      const member = machine.member(id);
      return member ? [{ id, address: member.address }] : [];
    });
    return this.options.durableStates.ask(groupId, members);
  }

  /**
   * The failover command for the group at `expectedEpoch`: to `target`, or
   * as the answers choose (primary-choice.ts). It carries the lease revision
   * of the state it was decided on: a grant since refuses it at apply.
   */
  decideFailover(
    groupId: string,
    expectedEpoch: bigint,
    answers: readonly DurableState[],
    asked: readonly string[],
    target = '',
  ): FailoverCommand {
    const group = this.options.replica.machine.group(groupId);
    if (!group) throw new NotFoundError('group_id', `no group '${groupId}'`);
    const newPrimary = target || nextPrimary(group, answers);
    if (!newPrimary) throw new NoDurableStateError(group, asked, durableStateDeadlineMs);
    return {
      type: 'failover',
      groupId,
      expectedEpoch,
      newPrimary,
      expectedPrimaryLeaseRevision: group.primaryLeaseRevision,
    };
  }

  /**
   * The gate of every failover and deletion: the old primary's lease must
   * have surely ended on this leader's monotonic clock (lease-grants.ts).
   * Refused at once, retryably, naming how long remains.
   */
  requireLeaseEnded(command: FailoverCommand | DeleteGroupCommand, leaderSinceMs: number): void {
    const { replica, clockDriftMs } = this.options;
    // The command passed the core's check, so its group exists.
    const group = replica.machine.group(command.groupId) as ReplicaGroup;
    const waitMs = replica.leaseGrants.failoverWaitMs(group, leaderSinceMs, clockDriftMs);
    if (waitMs > 0) {
      throw retryableFailedPrecondition(
        'primary_lease_revision',
        `the primary of group '${group.id}' may still hold the lease granted at revision ${group.primaryLeaseRevision} for ${waitMs} ms (lease ${group.primaryLeaseMs} ms + drift ${clockDriftMs} ms on this leader's clock from when it applied the grant or became leader); retry after ${waitMs} ms`,
      );
    }
  }

  private async automaticRound(group: ReplicaGroup, leaseEndedAtMs: number): Promise<void> {
    const { logger, nowMs } = this.options;
    let answers: readonly DurableState[] = [];
    try {
      const { revision, value } = await this.proposer.change<FailoverCommand>(
        {
          prepare: async () => {
            answers = await this.ask(group.id, group.inSync);
          },
          decide: () => this.decideFailover(group.id, group.epoch, answers, group.inSync),
          gate: (command, leaderSinceMs) => this.requireLeaseEnded(command, leaderSinceMs),
        },
        undefined,
      );
      this.retries.delete(group.id);
      logger.info(
        {
          group: group.id,
          oldPrimary: group.primary,
          newPrimary: value.group.primary,
          oldEpoch: String(group.epoch),
          newEpoch: String(value.group.epoch),
          revision: String(revision),
          handoverTarget: group.handoverTarget || undefined,
          answered: answers.map((answer) => answer.memberId),
          afterLeaseEndedMs: Math.round(nowMs() - leaseEndedAtMs),
        },
        'group failed over automatically: its primary lease had ended',
      );
    } catch (error) {
      this.noteFailure(group, error);
    }
  }

  private noteFailure(group: ReplicaGroup, error: unknown): void {
    const { logger, nowMs } = this.options;
    if (error instanceof NotLeaderError) return;
    if (error instanceof FailedPreconditionError && settledFields.has(error.details.field ?? '')) {
      // The primary renewed (before the decision, or between it and apply), or the epoch moved: decided again next check.
      logger.info(
        { group: group.id, epoch: String(group.epoch), reason: error.message },
        'automatic failover not made',
      );
      return;
    }
    const previous = this.retries.get(group.id);
    const failures = previous?.epoch === group.epoch ? previous.failures + 1 : 1;
    const backoffMs = Math.min(failoverRetryBackoffMs.max, failoverRetryBackoffMs.initial * 2 ** (failures - 1));
    this.retries.set(group.id, { epoch: group.epoch, failures, retryAtMs: nowMs() + backoffMs });
    // A group whose members stay away fails a round a second: a warning now and then is enough.
    const level = failures === 1 || failures % failureWarningEvery === 0 ? 'warn' : 'debug';
    logger[level](
      { err: error, group: group.id, epoch: String(group.epoch), failures, retryInMs: backoffMs },
      'automatic failover failed; retrying after a backoff',
    );
  }
}

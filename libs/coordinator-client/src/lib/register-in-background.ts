// Registration as a background task of a service's start: it must not hold up
// serving, and its outcome is logged rather than thrown. A registered member
// registers again now and then (a repeat changes nothing), which puts back a
// registration lost since: an operator's `bulwark deregister` of a member
// that was only paused, or the late deregistration of an earlier process
// with the same id. A stateless member (router, lock, monitor) also leaves
// the topology when it stops: a pod scaled down or replaced is gone, not
// DOWN, and its address is free for the next pod. One that crashes stays
// listed (DOWN) until an operator runs `bulwark deregister`.
import { randomUUID } from 'node:crypto';
import { formatHostPort, type HostPort } from '@bulwark/config';
import type { coordinatorV1 } from '@bulwark/contracts';
import { CancelledError, isRetryable, NotFoundError, UnimplementedError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { CoordinatorCaller } from './coordinator-caller';
import { registerMember } from './register-member';

/** How long a stopping member tries to deregister: it delays the exit, and a member left listed is only shown DOWN. */
export const deregistrationDeadlineMs = 1_500;
/** The longest one RegisterMember attempt may take. */
const registrationAttemptDeadlineMs = 2_000;
/** How long leaving may take in all: a first registration's attempt in flight, then the deregistration. */
export const leaveDeadlineMs = registrationAttemptDeadlineMs + deregistrationDeadlineMs;
/** Between a registered member's repeats of its registration. */
export const reregistrationIntervalMs = 30_000;
/** How long the first registration keeps trying before it is left to the repeats. */
const firstRegistrationDeadlineMs = 60_000;
/** How long one repeat may take: the next one comes anyway. */
const reregistrationDeadlineMs = 10_000;

interface MemberConfig {
  memberId: string;
  advertiseAddress: HostPort;
  coordinators: HostPort[];
  /** Replicas only. */
  groupId?: string;
}

/** What registration needs of the started server: where it serves metrics, if anywhere. */
interface StartedServerView {
  readonly metricsAddress: string | undefined;
}

type StartedHook = (config: MemberConfig, logger: Logger, server: StartedServerView) => void;

export interface RegistrationSchedule {
  /** Between repeats of a registration (reregistrationIntervalMs by default). */
  readonly reregistrationIntervalMs?: number;
  /** How long the first registration keeps trying before the repeats take over (firstRegistrationDeadlineMs). */
  readonly firstRegistrationDeadlineMs?: number;
}

/**
 * One member's registration: registered at start, repeated while it runs
 * (which also keeps trying one that no coordinator answered, however long
 * they are away), and undone by leave().
 */
class MemberRegistration {
  private readonly coordinators: string[];
  private readonly member: coordinatorV1.Member;
  /** Its channels and leader knowledge, shared by every call; closed once it leaves. */
  private readonly caller: CoordinatorCaller;
  /** Ends the retries of the first registration and of a repeat when the member leaves before they are answered. */
  private readonly retriesStop = new AbortController();
  /** Settles when the first registration has, however it ended. */
  private firstSettled: Promise<void> = Promise.resolve();
  private readonly intervalMs: number;
  private readonly firstDeadlineMs: number;
  private repeats: NodeJS.Timeout | undefined;
  /** The repeat in flight, if any: leave() waits for it, and no second one starts beside it. */
  private repeating: Promise<void> | undefined;
  /** Pending while no attempt was answered (one may still have committed); refused only by the first registration. */
  private outcome: 'pending' | 'registered' | 'refused' = 'pending';
  private leaving = false;

  constructor(
    role: coordinatorV1.MemberRole,
    config: MemberConfig,
    private readonly logger: Logger,
    server: StartedServerView,
    options: RegistrationSchedule,
  ) {
    this.intervalMs = options.reregistrationIntervalMs ?? reregistrationIntervalMs;
    this.firstDeadlineMs = options.firstRegistrationDeadlineMs ?? firstRegistrationDeadlineMs;
    this.coordinators = config.coordinators.map(formatHostPort);
    this.caller = new CoordinatorCaller({ coordinators: this.coordinators, logger });
    this.member = {
      id: config.memberId,
      address: formatHostPort(config.advertiseAddress),
      role,
      groupId: config.groupId ?? '',
      metricsAddress: server.metricsAddress ?? '',
    };
  }

  start(): void {
    this.firstSettled = this.register(this.firstDeadlineMs).then(
      (response) => this.registered(response),
      (error: unknown) => {
        // Refused for good (a coordinator's answer, also one taken in while leaving): nothing was registered. After a
        // deadline, exhausted retries or retries stopped by leave() (CancelledError), an attempt may have been.
        if (!isRetryable(error) && !(error instanceof CancelledError)) this.outcome = 'refused';
        if (this.leaving) return;
        if (error instanceof UnimplementedError) {
          this.logger.warn('coordinators do not serve RegisterMember yet; running unregistered');
        } else if (this.outcome === 'refused') {
          this.logger.error({ err: error }, 'registration with coordinators refused; running unregistered');
        } else {
          // Unanswered: a service nobody can find is worse than a late one, so the repeats keep trying.
          this.logger.error(
            { err: error, retryEveryMs: this.intervalMs },
            'registration with coordinators failed; trying again at every repeat',
          );
          this.startRepeats();
        }
      },
    );
  }

  private registered(response: coordinatorV1.RegisterMemberResponse): void {
    const first = this.outcome !== 'registered';
    this.outcome = 'registered';
    if (first) this.logger.info({ revision: String(response.header?.revision ?? 0n) }, 'registered with coordinators');
    this.startRepeats();
  }

  private startRepeats(): void {
    if (this.leaving || this.repeats) return;
    this.repeats = setInterval(() => this.repeat(), this.intervalMs);
    // A replica never leaves: its repeats must not keep a stopping process alive.
    this.repeats.unref();
  }

  /**
   * Stops the repeats and takes the member out of the topology, if it got in
   * or may have, within leaveDeadlineMs; logged, never thrown. The first
   * registration or a repeat still retrying makes no further attempt, and
   * the attempt in flight is waited for (to its answer or its 2 s deadline),
   * so it cannot commit after the deregistration (and put the member back),
   * short of a leader that takes longer to commit than that; unless the
   * first registration was refused, the member then deregisters (NOT_FOUND
   * if nothing committed).
   */
  async leave(): Promise<void> {
    this.leaving = true;
    clearInterval(this.repeats);
    this.retriesStop.abort();
    try {
      await Promise.all([this.repeating, this.firstSettled]);
      if (this.outcome !== 'refused') await this.deregister();
    } finally {
      this.caller.close();
    }
  }

  private repeat(): void {
    if (this.repeating) return;
    this.repeating = this.register(reregistrationDeadlineMs)
      .then(
        (response) => this.registered(response),
        (error: unknown) => {
          if (!this.leaving) this.logger.warn({ err: error }, 'repeating the registration failed');
        },
      )
      .finally(() => (this.repeating = undefined));
  }

  /** RegisterMember with this member's record, retried for up to totalDeadlineMs or until the member leaves. */
  private register(totalDeadlineMs: number): Promise<coordinatorV1.RegisterMemberResponse> {
    const { coordinators, member, logger, caller } = this;
    return registerMember({
      coordinators,
      member,
      logger,
      callDeadlineMs: registrationAttemptDeadlineMs,
      totalDeadlineMs,
      caller,
      stopRetrying: this.retriesStop.signal,
    });
  }

  private async deregister(): Promise<void> {
    try {
      const answer = await this.caller.call(
        'deregisterMember',
        { memberId: this.member.id, requestId: randomUUID() },
        { deadlineMs: deregistrationDeadlineMs, attemptDeadlineMs: deregistrationDeadlineMs / 3 },
      );
      this.logger.info({ revision: String(answer.header?.revision ?? 0n) }, 'deregistered from coordinators');
    } catch (error) {
      if (error instanceof NotFoundError) return;
      this.logger.warn({ err: error }, 'could not deregister from coordinators; the member stays listed (DOWN)');
    }
  }
}

/** A service's `started` hook that registers it with the coordinators in the given role, with its metrics address. */
export function registerOnStart(role: coordinatorV1.MemberRole): StartedHook {
  return (config, logger, server) => new MemberRegistration(role, config, logger, server, {}).start();
}

/**
 * A stateless service's hooks: `started` registers it as registerOnStart
 * does, `leave` (a draining hook) takes it out of the topology.
 */
export function registerUntilStopped(
  role: coordinatorV1.MemberRole,
  options: RegistrationSchedule = {},
): { started: StartedHook; leave: () => Promise<void> } {
  let registration: MemberRegistration | undefined;
  return {
    started: (config, logger, server) => {
      registration = new MemberRegistration(role, config, logger, server, options);
      registration.start();
    },
    leave: async () => registration?.leave(),
  };
}

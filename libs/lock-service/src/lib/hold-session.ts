// One Hold stream: the lock is taken (or a grant resumed), then kept for as
// long as the holder renews it, and the holder is told at once, with the
// cause, when it is no longer its own:
// - RELEASED when a release of this very grant is published by any server
//   (a Release call made elsewhere with the token);
// - EXPIRED when the validity of the last grant or renewal runs out before
//   another renewal (the holder paused or stopped renewing), or a renewal
//   finds the lease gone;
// - BACKEND_MAJORITY_LOST when the validity runs out while renewals could
//   not reach a majority of the backend servers.
// Renewals come from the holder, never from this side: a paused holder must
// lose its lease at its TTL, like any other.
import { setTimeout as delay } from 'node:timers/promises';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from '@bulwark/errors';
import { lockV1 } from '@bulwark/contracts';
import type { Grant } from '@bulwark/lock-core';
import type { LockEvent } from '@bulwark/lock-redis';
import type { Logger } from '@bulwark/logging';
import { acquireCounted } from './lock-metrics';
import { requireName, requireOwner, requireToken, requireTtl, requireWaitTimeout } from './lock-requests';
import type { Locks } from './locks';

export type HoldEvent = NonNullable<lockV1.HoldResponse['event']>;

/** Where a session's events go: the stream, in a test a list. */
export interface HoldSink {
  send(event: HoldEvent): void;
  /** Ends the stream after the last event sent. */
  end(): void;
}

interface Held {
  readonly name: string;
  readonly owner: string;
  readonly token: bigint;
  /** The grant attempt: another attempt that took the same token and undid it publishes its own. */
  readonly attempt: string;
  readonly ttlMs: number;
  validUntilMs: number;
  /** Whether the last renewal failed for want of a majority. */
  backendLost: boolean;
  releasing: boolean;
}

/** How soon a renewal that found no majority is tried again, while the lease lasts. */
const renewRetryMs = 50;

export class HoldSession {
  private held: Held | undefined;
  private state: 'new' | 'starting' | 'holding' | 'ended' = 'new';
  /** Aborted when the session ends. */
  private readonly abort = new AbortController();
  /** Aborted when the session ends or the holder gives up waiting. */
  private readonly wait = new AbortController();
  private validityTimer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  /** The holder was told its lock is lost: a renewal that still lands must not keep it. */
  private lossReported = false;

  constructor(
    private readonly locks: Locks,
    private readonly sink: HoldSink,
    private readonly logger: Logger,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Whether acquire or resume has come. */
  get started(): boolean {
    return this.state !== 'new';
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Handles one message of the holder; the caller sends the next only after this settles. Throws to end the stream with a status. */
  async handle(request: lockV1.HoldRequest): Promise<void> {
    if (this.state === 'ended') return;
    const action = request.action;
    if (!action) throw new InvalidArgumentError('action', 'must be acquire, resume, renew or release');
    if (action.$case === 'acquire' || action.$case === 'resume') {
      if (this.state !== 'new') throw new InvalidArgumentError('action', `${action.$case} must be the first message`);
      this.state = 'starting';
      if (action.$case === 'acquire') await this.acquire(action.acquire);
      else await this.resume(action.resume);
      return;
    }
    const held = this.held;
    if (!held) throw new InvalidArgumentError('action', `${action.$case} needs a granted acquire or resume first`);
    if (action.$case === 'renew') await this.renew(held);
    else await this.release(held);
  }

  /** The holder gave up waiting: an acquire still waiting ends (not acquired); a grant already taken stands. */
  stopWaiting(): void {
    if (this.state === 'starting') this.wait.abort();
  }

  /** The holder went away (cancelled) or the server is stopping: the lease is left to expire. */
  close(): void {
    this.finish();
  }

  private async acquire(acquire: lockV1.HoldAcquire): Promise<void> {
    requireName(acquire.name, 'acquire.name');
    requireOwner(acquire.owner, 'acquire.owner');
    requireTtl(acquire.ttlMs, 'acquire.ttl_ms');
    requireWaitTimeout(acquire.waitTimeoutMs, 'acquire.wait_timeout_ms');
    const result = await acquireCounted(
      this.locks,
      'Hold',
      { name: acquire.name, owner: acquire.owner, ttlMs: acquire.ttlMs, waitTimeoutMs: acquire.waitTimeoutMs },
      this.wait.signal,
    );
    if (this.ended) {
      // The holder left while the grant was being taken: nobody will use it.
      if (result.acquired) {
        const { token, attempt } = result.grant;
        await this.locks.release(acquire.name, acquire.owner, token, attempt).catch(() => {});
      }
      return;
    }
    if (!result.acquired) {
      this.endWith({ $case: 'notAcquired', notAcquired: { holder: result.holder && holderMessage(result.holder) } });
      return;
    }
    await this.hold(acquire.name, acquire.owner, result.grant, acquire.ttlMs);
  }

  private async resume(resume: lockV1.HoldResume): Promise<void> {
    requireName(resume.name, 'resume.name');
    requireOwner(resume.owner, 'resume.owner');
    requireToken(resume.token, 'resume.token');
    requireTtl(resume.ttlMs, 'resume.ttl_ms');
    const grant = await this.locks.refresh(resume.name, resume.owner, resume.token, resume.ttlMs);
    if (this.ended) return;
    await this.hold(resume.name, resume.owner, grant, resume.ttlMs);
  }

  private async hold(name: string, owner: string, grant: Grant, ttlMs: number): Promise<void> {
    const { token, attempt, validUntilMs } = grant;
    const held: Held = {
      name,
      owner,
      token,
      attempt,
      ttlMs,
      validUntilMs,
      backendLost: false,
      releasing: false,
    };
    this.held = held;
    this.state = 'holding';
    // Watch before answering, so a release right after the grant is not missed.
    let unwatch: () => void;
    try {
      unwatch = await this.locks.events.watch(name, (event) => this.onLockEvent(held, event));
    } catch (error) {
      // The stream ends with this error and the token is never sent: nobody could use or release the grant.
      await this.locks.release(name, owner, token, attempt).catch(() => {});
      throw error;
    }
    if (this.ended) {
      // The holder left before hearing of the grant: nobody will use or release it.
      unwatch();
      await this.locks.release(name, owner, token, attempt).catch(() => {});
      return;
    }
    this.unwatch = unwatch;
    if (held.validUntilMs - this.nowMs() < 1) {
      await this.locks.release(name, owner, token, attempt).catch(() => {});
      this.lose(
        lockV1.LossCause.LOSS_CAUSE_EXPIRED,
        `the lease of lock ${JSON.stringify(name)} was spent before it could be reported`,
      );
      return;
    }
    this.armValidity(held);
    this.sink.send({ $case: 'granted', granted: { token, validForMs: this.validForMs(held), leaseId: attempt } });
  }

  private async renew(held: Held): Promise<void> {
    for (;;) {
      try {
        const grant = await this.locks.refresh(held.name, held.owner, held.token, held.ttlMs);
        if (this.lossReported) {
          // Extended after the holder was told it lost the lock: nobody will use it.
          await this.locks.release(held.name, held.owner, held.token, held.attempt).catch(() => {});
          return;
        }
        if (this.ended) return;
        held.validUntilMs = grant.validUntilMs;
        held.backendLost = false;
        this.armValidity(held);
        this.sink.send({ $case: 'renewed', renewed: { validForMs: this.validForMs(held) } });
        return;
      } catch (error) {
        if (this.ended) return;
        if (error instanceof FailedPreconditionError)
          return this.lose(lockV1.LossCause.LOSS_CAUSE_EXPIRED, error.message);
        if (!(error instanceof UnavailableError)) throw error;
        // Still the holder's until its validity ends (the timer reports the loss then); keep trying until it does.
        held.backendLost = true;
        this.logger.debug({ err: error, lock: held.name }, 'renewal found no majority; retrying');
        if (this.nowMs() + renewRetryMs >= held.validUntilMs) return;
        await delay(renewRetryMs, undefined, { signal: this.abort.signal }).catch(() => {});
        if (this.ended) return;
      }
    }
  }

  private async release(held: Held): Promise<void> {
    held.releasing = true;
    try {
      await this.locks.release(held.name, held.owner, held.token, held.attempt);
    } catch (error) {
      if (this.ended) return;
      // A release of this grant by another call ends the session as it is heard: found gone here, it ran out.
      if (error instanceof FailedPreconditionError)
        return this.lose(lockV1.LossCause.LOSS_CAUSE_EXPIRED, error.message);
      held.releasing = false;
      throw error;
    }
    if (this.ended) return;
    this.endWith({ $case: 'released', released: {} });
  }

  private onLockEvent(held: Held, event: LockEvent): void {
    // A server's subscription came back after a time without it: the release of this grant may be among what
    // was missed. Look.
    if (event.kind === 'resubscribed') {
      void this.recheck(held);
      return;
    }
    if (event.kind !== 'released' || event.token !== held.token || event.attempt !== held.attempt) return;
    this.releasedElsewhere(held, 'was released by another call');
  }

  private releasedElsewhere(held: Held, how: string): void {
    if (held.releasing || this.ended) return;
    this.lose(
      lockV1.LossCause.LOSS_CAUSE_RELEASED,
      `lock ${JSON.stringify(held.name)} under token ${held.token} ${how}`,
    );
  }

  /** Whether a majority still holds this grant; a lock found held by nobody else within its validity was released. */
  private async recheck(held: Held): Promise<void> {
    const view = await this.locks.inspect(held.name).catch(() => undefined);
    // No majority to ask: the renewals will find out, and the validity timer bounds it.
    if (!view || this.ended || this.held !== held) return;
    const holder = view.holder;
    if (holder && holder.token === held.token && holder.attempt === held.attempt) return;
    if (this.nowMs() < held.validUntilMs) {
      this.releasedElsewhere(held, 'is no longer held by this grant (released while a server was not heard from)');
    }
  }

  private armValidity(held: Held): void {
    clearTimeout(this.validityTimer);
    this.validityTimer = setTimeout(
      () => {
        const cause = held.backendLost
          ? lockV1.LossCause.LOSS_CAUSE_BACKEND_MAJORITY_LOST
          : lockV1.LossCause.LOSS_CAUSE_EXPIRED;
        const why = held.backendLost
          ? 'renewals could not reach a majority of the lock servers'
          : 'no renewal came in time';
        this.lose(cause, `the lease of lock ${JSON.stringify(held.name)} under token ${held.token} ran out: ${why}`);
      },
      Math.max(0, held.validUntilMs - this.nowMs()),
    );
  }

  private validForMs(held: Held): number {
    return Math.max(1, Math.floor(held.validUntilMs - this.nowMs()));
  }

  private lose(cause: lockV1.LossCause, detail: string): void {
    if (this.ended) return;
    this.lossReported = true;
    this.endWith({ $case: 'lost', lost: { cause, detail } });
  }

  /** The last event of the stream. */
  private endWith(event: HoldEvent): void {
    this.sink.send(event);
    this.finish();
    this.sink.end();
  }

  private finish(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.abort.abort();
    this.wait.abort();
    clearTimeout(this.validityTimer);
    this.unwatch?.();
    this.unwatch = undefined;
  }
}

export function holderMessage(holder: { owner: string; token: bigint; remainingTtlMs: number }): lockV1.Holder {
  return { owner: holder.owner, token: holder.token, remainingTtlMs: Math.max(0, Math.floor(holder.remainingTtlMs)) };
}

// A lock taken and kept over a Hold stream, as its holder sees it.
//
// Safety rests on the local validity deadline, counted conservatively: each
// grant, resume or renewal answer's valid_for_ms is counted from when its
// request was SENT, never from when the answer arrived (the service counted
// it from a moment after the sending, so this deadline is never later than
// the service's). The holder's signal is aborted at that deadline unless a
// renewal has moved it, so a slow, paused or cut-off holder stops acting on
// its own clock, whatever the service manages to tell it.
//
// Renewals come from this side only (a third of the TTL after the last one
// was sent), so a paused process loses its lease like any other holder. When
// the stream breaks (the instance stopped or was killed), the grant is
// resumed on the next instance, round-robin, until the deadline; a resume
// the service refuses means the lease is gone.
import { EventEmitter } from 'node:events';
import {
  BulwarkError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  isRetryable,
  UnavailableError,
} from '@bulwark/errors';
import type { lockV1 } from '@bulwark/contracts';
import type { Logger } from '@bulwark/logging';
import { openHoldStream, type HoldStream } from './hold-stream';
import type { LockEndpoints } from './lock-endpoints';
import type { HeldLock, HoldAttempt, HoldOptions } from './held-lock';
import { holderOf, LockLostError, lossCauseOf, type LockLossCause } from './lock-errors';

/** What a holding needs from its LockClient. */
export interface HoldingContext {
  readonly endpoints: LockEndpoints;
  readonly callTimeoutMs: number;
  readonly logger: Logger | undefined;
  /** Unary Release at any instance, for a release without a working stream. */
  releaseUnary(name: string, owner: string, token: bigint, leaseId: string): Promise<void>;
  /** Called once when the holding ends. */
  forget(holding: LockHolding): void;
}

type Phase =
  /** acquire sent on the first stream; waiting for granted or not_acquired. */
  | 'acquiring'
  /** Granted after so long a wait that little validity is left: a renewal sent after the grant gives a usable deadline. */
  | 'confirming'
  | 'holding'
  /** The stream broke: resume attempts at the next instances until the deadline. */
  | 'resuming'
  | 'releasing'
  | 'ended';

/** Backoff between retries once every instance has failed in a row, doubling; every loop is also bounded by a deadline. */
const retryBackoffMsMin = 20;
const retryBackoffMsMax = 500;

const now = () => performance.now();

export class LockHolding implements HeldLock {
  /** For tests and diagnostics: 'renewed' (validUntilMs) and 'resumed' (address of the new instance). */
  readonly events = new EventEmitter();
  readonly owner: string;
  private readonly ttlMs: number;
  private readonly waitTimeoutMs: number;
  private grantedToken = 0n;
  /** The grant's lease id, so a release frees exactly it. */
  private grantedLeaseId = '';
  private validUntil = -Infinity;
  private readonly loss = new AbortController();
  private phase: Phase = 'acquiring';
  private stream: HoldStream | undefined;
  private streamAddress = '';
  /** When the acquire or resume awaiting its grant was sent. */
  private openedAtMs = 0;
  /** When the one renewal in flight was sent. */
  private renewSentAtMs: number | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private validityTimer: NodeJS.Timeout | undefined;
  private answerTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failuresInRow = 0;
  private acquireDeadlineMs = 0;
  private renewalsStopped = false;
  private localExpiryStopped = false;
  private starting: { resolve(attempt: HoldAttempt): void; reject(error: unknown): void } | undefined;
  private disposeStartSignal: () => void = () => {};
  private released: Promise<void> | undefined;
  private releasing: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(
    readonly name: string,
    options: HoldOptions,
    private readonly context: HoldingContext,
  ) {
    this.owner = options.owner;
    this.ttlMs = options.ttlMs;
    this.waitTimeoutMs = options.waitTimeoutMs;
  }

  get token(): bigint {
    return this.grantedToken;
  }

  get signal(): AbortSignal {
    return this.loss.signal;
  }

  get validUntilMs(): number {
    return this.validUntil;
  }

  /** Takes the lock; settles once it is held with validity left, the wait ended, or a call failed. */
  start(signal?: AbortSignal): Promise<HoldAttempt> {
    const cancelled = () => new CancelledError(`the wait for lock ${JSON.stringify(this.name)} was cancelled`);
    return new Promise<HoldAttempt>((resolve, reject) => {
      this.starting = { resolve, reject };
      if (signal?.aborted) return this.failStart(cancelled());
      if (signal) {
        const onAbort = () => this.failStart(cancelled());
        signal.addEventListener('abort', onAbort, { once: true });
        this.disposeStartSignal = () => signal.removeEventListener('abort', onAbort);
      }
      this.acquireDeadlineMs = now() + this.waitTimeoutMs;
      this.openAcquire();
    });
  }

  release(): Promise<void> {
    this.released ??= this.startRelease();
    return this.released;
  }

  /** LockClient.close(): the lease is left to expire. */
  clientClosed(): void {
    if (this.phase === 'ended') return;
    this.failStart(new CancelledError('the lock client was closed'));
    this.settleRelease(new CancelledError('the lock client was closed before the release was confirmed'));
    this.end(this.lost('client-closed', 'the lock client was closed; the lease is left to expire'));
  }

  /** Test hook: no more renewals, as in a holder that stopped renewing. */
  stopRenewals(): void {
    this.renewalsStopped = true;
    clearTimeout(this.renewTimer);
  }

  /** Test hook: no local expiry either, as in a paused process whose timers do not run; only the service can say. */
  stopLocalExpiry(): void {
    this.localExpiryStopped = true;
    clearTimeout(this.validityTimer);
  }

  private openAcquire(): void {
    this.retryTimer = undefined;
    if (this.phase !== 'acquiring') return;
    const waitMs = Math.max(0, Math.ceil(this.acquireDeadlineMs - now()));
    const stream = this.open();
    if (!stream) return;
    this.openedAtMs = now();
    stream.send({
      action: {
        $case: 'acquire',
        acquire: { name: this.name, owner: this.owner, ttlMs: this.ttlMs, waitTimeoutMs: waitMs },
      },
    });
    this.armAnswerTimer(waitMs + this.context.callTimeoutMs);
  }

  private openResume(): void {
    this.retryTimer = undefined;
    if (this.phase !== 'resuming') return;
    const leftMs = this.validUntil - now();
    if (leftMs <= 0) return this.expireLocally();
    const stream = this.open();
    if (!stream) return;
    this.openedAtMs = now();
    stream.send({
      action: {
        $case: 'resume',
        resume: { name: this.name, owner: this.owner, token: this.grantedToken, ttlMs: this.ttlMs },
      },
    });
    this.armAnswerTimer(Math.min(this.context.callTimeoutMs, Math.ceil(leftMs)));
  }

  /** A new stream at the next instance; the previous one, if any, is cancelled. */
  private open(): HoldStream | undefined {
    this.stream?.close();
    this.stream = undefined;
    let endpoint;
    try {
      endpoint = this.context.endpoints.next();
    } catch (error) {
      this.failStart(error);
      this.end(this.lost('client-closed', 'the lock client was closed'));
      return undefined;
    }
    const { address, client } = endpoint;
    const stream: HoldStream = openHoldStream(client, {
      onEvent: (event) => {
        if (this.stream === stream) this.onEvent(event);
      },
      onEnd: (error) => {
        if (this.stream !== stream) return;
        this.stream = undefined;
        this.onStreamEnd(error ?? new UnavailableError(`the Hold stream at ${address} ended without an answer`));
      },
    });
    this.stream = stream;
    this.streamAddress = address;
    return stream;
  }

  /** The stream is given up when the answer it waits for does not come in time (an instance that hangs). */
  private armAnswerTimer(timeoutMs: number): void {
    clearTimeout(this.answerTimer);
    const address = this.streamAddress;
    this.answerTimer = setTimeout(
      () => this.dropStream(new DeadlineExceededError(`no answer from ${address} within ${timeoutMs} ms`)),
      timeoutMs,
    );
  }

  private dropStream(error: BulwarkError): void {
    this.answerTimer = undefined;
    if (this.phase === 'acquiring' && this.grantedToken === 0n) this.abandonAcquire();
    else this.stream?.close();
    this.stream = undefined;
    this.onStreamEnd(error);
  }

  /** The acquire may be granted before the service hears that it was given up: release that grant. */
  private abandonAcquire(): void {
    const { name, owner } = this;
    this.stream?.abandon(({ token, leaseId }) => {
      this.context.releaseUnary(name, owner, token, leaseId).catch(() => undefined);
    }, this.context.callTimeoutMs);
  }

  private onEvent(event: NonNullable<lockV1.HoldResponse['event']>): void {
    switch (event.$case) {
      case 'granted':
        return this.onGranted(event.granted);
      case 'notAcquired':
        return this.onNotAcquired(event.notAcquired);
      case 'renewed':
        return this.onRenewed(event.renewed);
      case 'lost':
        return this.onLost(event.lost);
      case 'released':
        return this.onReleased();
    }
  }

  private onGranted(granted: lockV1.HoldGranted): void {
    if (this.phase !== 'acquiring' && this.phase !== 'resuming') return this.unexpected('granted');
    clearTimeout(this.answerTimer);
    this.failuresInRow = 0;
    if (this.phase === 'resuming' && granted.token !== this.grantedToken) {
      // The service resumes the token it was given; any other grant is not the one this holder's work is fenced by.
      return this.end(this.lost('unknown', `a resume was answered with token ${granted.token}`));
    }
    this.grantedToken = granted.token;
    this.grantedLeaseId = granted.leaseId;
    this.extend(this.openedAtMs + granted.validForMs);
    if (this.phase === 'resuming') {
      this.phase = 'holding';
      this.armValidity();
      this.scheduleRenewal(this.openedAtMs);
      this.context.logger?.info({ lock: this.name, address: this.streamAddress }, 'lock hold resumed');
      this.events.emit('resumed', this.streamAddress);
      return;
    }
    // Counted from the acquire's sending, a grant after a long wait has little validity left: renew at once, and
    // hand the lock out only with at least a third of the TTL to act in.
    const leftMs = this.validUntil - now();
    if (leftMs < (this.ttlMs * 2) / 3) this.renewNow();
    else this.scheduleRenewal(this.openedAtMs);
    if (leftMs < this.ttlMs / 3) {
      this.phase = 'confirming';
      return;
    }
    this.phase = 'holding';
    this.armValidity();
    this.settleStart({ acquired: true, lock: this });
  }

  private onNotAcquired(notAcquired: lockV1.HoldNotAcquired): void {
    if (this.phase !== 'acquiring') return this.unexpected('not_acquired');
    const holder = holderOf(notAcquired.holder);
    this.end(this.lost('unknown', 'not acquired'));
    this.settleStart({ acquired: false, holder });
  }

  private onRenewed(renewed: lockV1.HoldRenewed): void {
    if (this.renewSentAtMs === undefined) return this.unexpected('renewed');
    this.extend(this.renewSentAtMs + renewed.validForMs);
    this.renewSentAtMs = undefined;
    if (this.phase === 'confirming') {
      if (this.validUntil - now() <= 0) {
        const reason = this.lost('expired-locally', 'the renewal after a long wait came back too late to act on');
        this.failStart(reason);
        return this.end(reason);
      }
      this.phase = 'holding';
      this.armValidity();
      this.settleStart({ acquired: true, lock: this });
    } else if (this.phase === 'holding' || this.phase === 'releasing') {
      this.armValidity();
    }
    this.events.emit('renewed', this.validUntil);
  }

  private onLost(lost: lockV1.HoldLost): void {
    const reason = this.lost(lossCauseOf(lost.cause), lost.detail || 'the lock service reported the loss');
    this.context.logger?.warn({ lock: this.name, cause: reason.lossCause }, 'lock lost');
    this.failStart(reason);
    this.settleRelease(reason);
    this.end(reason);
  }

  private onReleased(): void {
    if (this.phase !== 'releasing') return this.unexpected('released');
    // The release was sent while the lease was valid, so it was this holder's until released, even if the local
    // deadline passed while the answer travelled.
    this.end(this.lost('released-by-holder', 'released'));
    this.settleRelease(undefined);
  }

  private onStreamEnd(error: BulwarkError): void {
    clearTimeout(this.answerTimer);
    // Its answer will not come; the next stream's resume renews anyway.
    this.renewSentAtMs = undefined;
    switch (this.phase) {
      case 'acquiring':
        return this.retryAcquire(error);
      case 'confirming':
        return this.failStart(error);
      case 'holding':
      case 'resuming':
        return this.resumeAfter(error);
      case 'releasing':
        return this.releaseWithoutStream();
      case 'ended':
        return;
    }
  }

  private retryAcquire(error: BulwarkError): void {
    const transient = isRetryable(error) || error instanceof CancelledError;
    this.failuresInRow += 1;
    const tried = this.failuresInRow >= this.context.endpoints.addresses.length;
    if (!transient || (tried && now() >= this.acquireDeadlineMs)) return this.failStart(error);
    this.context.logger?.debug({ err: error, lock: this.name }, 'lock acquire stream failed; trying the next instance');
    this.retryTimer = setTimeout(() => this.openAcquire(), this.backoffMs());
  }

  private resumeAfter(error: BulwarkError): void {
    if (error instanceof FailedPreconditionError) {
      // The service refuses this grant: its lease ran out or it was released.
      return this.end(this.lost('expired', error.message));
    }
    this.phase = 'resuming';
    clearTimeout(this.renewTimer);
    this.failuresInRow += 1;
    this.context.logger?.info(
      { err: error, lock: this.name },
      'lock hold stream failed; resuming on the next instance',
    );
    const leftMs = this.validUntil - now();
    if (leftMs <= 0) return this.expireLocally();
    this.retryTimer = setTimeout(() => this.openResume(), Math.min(this.backoffMs(), leftMs));
  }

  /** None while some instance is still untried in this run of failures, then doubling up to a bound. */
  private backoffMs(): number {
    const cycles = this.failuresInRow - this.context.endpoints.addresses.length;
    if (cycles < 0) return 0;
    return Math.min(retryBackoffMsMax, retryBackoffMsMin * 2 ** Math.min(cycles, 10));
  }

  private scheduleRenewal(lastSentAtMs: number): void {
    clearTimeout(this.renewTimer);
    if (this.renewalsStopped) return;
    this.renewTimer = setTimeout(() => this.renewDue(), Math.max(0, lastSentAtMs + this.ttlMs / 3 - now()));
  }

  private renewDue(): void {
    this.renewTimer = undefined;
    if (this.phase !== 'holding' && this.phase !== 'confirming') return;
    if (this.renewSentAtMs !== undefined) {
      // A whole period without an answer: the instance hangs (paused, cut off). Move the stream while time is left.
      return this.dropStream(new DeadlineExceededError(`a lock renewal at ${this.streamAddress} went unanswered`));
    }
    this.renewNow();
  }

  private renewNow(): void {
    if (this.renewalsStopped || !this.stream) return;
    this.renewSentAtMs = now();
    this.stream.send({ action: { $case: 'renew', renew: {} } });
    this.scheduleRenewal(this.renewSentAtMs);
  }

  private extend(untilMs: number): void {
    // Every deadline is a safe lower bound of the lease, so the latest one counts.
    this.validUntil = Math.max(this.validUntil, untilMs);
  }

  private armValidity(): void {
    clearTimeout(this.validityTimer);
    if (this.localExpiryStopped) return;
    this.validityTimer = setTimeout(() => this.expireLocally(), Math.max(0, this.validUntil - now()));
  }

  private expireLocally(): void {
    this.validityTimer = undefined;
    const reason = this.lost('expired-locally', 'the validity deadline passed without a renewal extending it');
    if (this.phase === 'releasing') {
      // The release went out while the lease was valid: its answer still decides what release() says.
      this.abortSignal(reason);
      return;
    }
    this.context.logger?.warn({ lock: this.name }, 'lock validity ran out locally');
    this.end(reason);
  }

  private startRelease(): Promise<void> {
    if (this.phase === 'ended') {
      const reason: unknown = this.loss.signal.reason;
      return Promise.reject(reason instanceof Error ? reason : new CancelledError('the lock is no longer held'));
    }
    return new Promise<void>((resolve, reject) => {
      this.releasing = { resolve, reject };
      const streaming = this.phase === 'holding' && this.stream !== undefined;
      this.phase = 'releasing';
      clearTimeout(this.renewTimer);
      clearTimeout(this.retryTimer);
      if (streaming && this.stream) {
        this.stream.send({ action: { $case: 'release', release: {} } });
        this.armAnswerTimer(this.context.callTimeoutMs);
      } else {
        this.releaseWithoutStream();
      }
    });
  }

  private releaseWithoutStream(): void {
    this.stream?.close();
    this.stream = undefined;
    clearTimeout(this.answerTimer);
    this.context.releaseUnary(this.name, this.owner, this.grantedToken, this.grantedLeaseId).then(
      () => {
        this.end(this.lost('released-by-holder', 'released'));
        this.settleRelease(undefined);
      },
      (error: unknown) => {
        if (error instanceof FailedPreconditionError) {
          const reason = this.lost('expired', error.message);
          this.end(reason);
          return this.settleRelease(reason);
        }
        const problem = error instanceof Error ? error.message : String(error);
        this.end(this.lost('released-by-holder', `the release could not be confirmed (${problem}); left to expire`));
        this.settleRelease(error);
      },
    );
  }

  private lost(cause: LockLossCause, detail: string): LockLostError {
    return new LockLostError(this.name, this.grantedToken, cause, detail);
  }

  private abortSignal(reason: LockLostError): void {
    if (!this.loss.signal.aborted) this.loss.abort(reason);
  }

  /** Ends the holding for good: every timer cleared, the stream cancelled (if still open), the signal aborted. */
  private end(reason: LockLostError): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    for (const timer of [this.renewTimer, this.validityTimer, this.answerTimer, this.retryTimer]) clearTimeout(timer);
    this.stream?.close();
    this.stream = undefined;
    this.abortSignal(reason);
    this.context.forget(this);
  }

  private settleStart(attempt: HoldAttempt): void {
    const starting = this.starting;
    this.starting = undefined;
    this.disposeStartSignal();
    starting?.resolve(attempt);
  }

  /** Rejects a pending start; a grant already taken is released on a best-effort basis (else it lapses at its TTL). */
  private failStart(error: unknown): void {
    const starting = this.starting;
    if (!starting) return;
    this.starting = undefined;
    this.disposeStartSignal();
    // A lost grant has nothing left to release.
    if (this.grantedToken > 0n && this.phase !== 'ended' && !(error instanceof LockLostError)) {
      this.context.releaseUnary(this.name, this.owner, this.grantedToken, this.grantedLeaseId).catch(() => undefined);
    } else if (this.grantedToken === 0n && this.phase === 'acquiring' && this.stream) {
      this.abandonAcquire();
      this.stream = undefined;
    }
    this.end(error instanceof LockLostError ? error : this.lost('unknown', 'the hold did not start'));
    starting.reject(error);
  }

  private settleRelease(error: unknown): void {
    const releasing = this.releasing;
    this.releasing = undefined;
    if (!releasing) return;
    if (error === undefined) releasing.resolve();
    else releasing.reject(error);
  }

  private unexpected(event: string): void {
    this.context.logger?.warn({ lock: this.name, event, phase: this.phase }, 'unexpected Hold event ignored');
  }
}

// What application code uses to take lock.v1 locks: the unary calls, each
// with a deadline and moved to the next instance when one cannot be reached,
// and hold(), which keeps a lock over a Hold stream (see lock-holding.ts).
// Errors are the project's typed errors, rebuilt from the service's status
// and its bulwark-error-bin detail (which names the field at fault).
import { lockV1 } from '@bulwark/contracts';
import { CancelledError, DeadlineExceededError, FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { callUnary, type UnaryMethod } from '@bulwark/rpc';
import { LockEndpoints } from './lock-endpoints';
import { holderOf, type LockHolder } from './lock-errors';
import type { HeldLock, HoldAttempt, HoldOptions } from './held-lock';
import { LockHolding } from './lock-holding';

export interface LockClientOptions {
  /** host:port of lock-service instances; any of them serves any lock. */
  endpoints: string[];
  /** Deadline of a call that does not wait for a lock, and the margin added to a waiting one's; default 5,000 ms. */
  callTimeoutMs?: number;
  logger?: Logger;
}

export const defaultCallTimeoutMs = 5_000;

export type LockGrantResult =
  | {
      readonly acquired: true;
      readonly token: bigint;
      /** Names this grant apart from others under the same owner and token: release() with it frees exactly it. */
      readonly leaseId: string;
      /**
       * Local monotonic ms (performance.now()) until which the grant may be
       * acted on, counted from when the request was sent: after a long wait
       * it may have passed already (refresh for a new one).
       */
      readonly validUntilMs: number;
    }
  | { readonly acquired: false; readonly holder: LockHolder | undefined };

export interface LockRenewal {
  /** Local monotonic ms until which the refreshed lease may be acted on, counted from when the refresh was sent. */
  readonly validUntilMs: number;
}

export interface LockState {
  /** The instance that answered. */
  readonly memberId: string;
  readonly held: boolean;
  readonly holder: LockHolder | undefined;
  /** The highest token granted for the name so far. */
  readonly lastToken: bigint;
  /** Callers queued for the lock. */
  readonly waiters: number;
  readonly backend: {
    readonly kind: 'redis' | 'memory' | 'unknown';
    readonly servers: number;
    readonly majority: number;
    readonly answered: number;
    readonly faultTolerant: boolean;
    /** Each server that did not answer, and why. */
    readonly unanswered: readonly string[];
  };
}

type LockUnaryName = 'acquire' | 'tryAcquire' | 'refresh' | 'release' | 'inspect';
type Service = typeof lockV1.LockService;
type RequestOf<M extends LockUnaryName> = Parameters<Service[M]['requestSerialize']>[0];
type ResponseOf<M extends LockUnaryName> = ReturnType<Service[M]['responseDeserialize']>;

export class LockClient {
  readonly logger: Logger | undefined;
  private readonly endpoints: LockEndpoints;
  private readonly callTimeoutMs: number;
  private readonly holdings = new Set<LockHolding>();

  constructor(options: LockClientOptions) {
    this.endpoints = new LockEndpoints(options.endpoints);
    this.callTimeoutMs = options.callTimeoutMs ?? defaultCallTimeoutMs;
    this.logger = options.logger;
  }

  /** Takes the lock only if it is free now. */
  async tryAcquire(name: string, options: { owner: string; ttlMs: number }): Promise<LockGrantResult> {
    const { response, sentAtMs } = await this.call(
      'tryAcquire',
      { name, owner: options.owner, ttlMs: options.ttlMs },
      this.callTimeoutMs,
    );
    return grantResult(response, sentAtMs);
  }

  /**
   * Takes the lock, waiting up to waitTimeoutMs; the call's deadline is the
   * wait plus callTimeoutMs. A grant with less than a third of its TTL left
   * is renewed first (or reported not acquired when the renewal finds it
   * gone), unless renewShortGrant is false: then it is returned as granted,
   * for a caller that must see every grant (a chaos run's lock checkers).
   */
  async acquire(
    name: string,
    options: { owner: string; ttlMs: number; waitTimeoutMs: number; renewShortGrant?: boolean },
  ): Promise<LockGrantResult> {
    const { response, sentAtMs } = await this.call(
      'acquire',
      (leftMs) => ({
        name,
        owner: options.owner,
        ttlMs: options.ttlMs,
        // A retry at another instance waits only what is left of the caller's wait.
        waitTimeoutMs: Math.max(0, Math.floor(Math.min(options.waitTimeoutMs, leftMs - this.callTimeoutMs))),
      }),
      options.waitTimeoutMs + this.callTimeoutMs,
    );
    const result = grantResult(response, sentAtMs);
    if (!result.acquired || options.renewShortGrant === false) return result;
    if (result.validUntilMs - performance.now() >= options.ttlMs / 3) return result;
    // Counted from the sending, a long wait leaves little of the lease: renew it before handing it out, so a
    // grant that is spent on this side is never returned.
    try {
      const renewed = await this.refresh(name, options.owner, result.token, options.ttlMs);
      return { ...result, validUntilMs: renewed.validUntilMs };
    } catch (error) {
      if (!(error instanceof FailedPreconditionError)) throw error;
      return { acquired: false, holder: undefined };
    }
  }

  /** Extends the lease of owner's grant under token by ttlMs; FailedPreconditionError when it is not theirs any more. */
  async refresh(name: string, owner: string, token: bigint, ttlMs: number): Promise<LockRenewal> {
    const { response, sentAtMs } = await this.call('refresh', { name, owner, token, ttlMs }, this.callTimeoutMs);
    return { validUntilMs: sentAtMs + response.validForMs };
  }

  /**
   * Frees owner's grant under token (exactly the one with leaseId, when
   * given); FailedPreconditionError when it is not theirs any more. After
   * an instance answered UNAVAILABLE, the release it was asked for may have
   * been done: a later instance that finds the grant gone is then taken at
   * its word as done, not reported as an error.
   */
  async release(name: string, owner: string, token: bigint, leaseId = ''): Promise<void> {
    let maybeDone = false;
    try {
      await this.call('release', { name, owner, token, leaseId }, this.callTimeoutMs, () => (maybeDone = true));
    } catch (error) {
      if (maybeDone && error instanceof FailedPreconditionError) return;
      throw error;
    }
  }

  /** Describes the lock without changing it. */
  async inspect(name: string): Promise<LockState> {
    const { response } = await this.call('inspect', { name }, this.callTimeoutMs);
    return {
      memberId: response.header?.memberId ?? '',
      held: response.held,
      holder: holderOf(response.holder),
      lastToken: response.lastToken,
      waiters: response.waiters,
      backend: {
        kind: backendKindOf(response.backend?.kind),
        servers: response.backend?.servers ?? 0,
        majority: response.backend?.majority ?? 0,
        answered: response.backend?.answered ?? 0,
        faultTolerant: response.backend?.faultTolerant ?? false,
        unanswered: response.backend?.unanswered ?? [],
      },
    };
  }

  /**
   * Takes the lock over a Hold stream and keeps it, renewing it every third
   * of ttlMs, until release(); undefined when the wait ended without it.
   */
  async hold(name: string, options: HoldOptions): Promise<HeldLock | undefined> {
    const attempt = await this.attemptHold(name, options);
    return attempt.acquired ? attempt.lock : undefined;
  }

  /** As hold(), but a wait that ended without the lock says who held it. */
  attemptHold(name: string, options: HoldOptions): Promise<HoldAttempt> {
    if (this.endpoints.isClosed) return Promise.reject(new CancelledError('the lock client is closed'));
    const holding = new LockHolding(name, options, {
      endpoints: this.endpoints,
      callTimeoutMs: this.callTimeoutMs,
      logger: this.logger,
      releaseUnary: (lockName, owner, token, leaseId) => this.release(lockName, owner, token, leaseId),
      forget: (ended) => this.holdings.delete(ended),
    });
    this.holdings.add(holding);
    return holding.start(options.signal);
  }

  /**
   * Closes every channel. Locks still held end with their signals aborted
   * (cause client-closed) and their leases left to expire; waits reject
   * with CancelledError.
   */
  close(): void {
    for (const holding of [...this.holdings]) holding.clientClosed();
    this.endpoints.close();
  }

  /**
   * One unary call, at the next instance; an instance that cannot be reached
   * (UNAVAILABLE) is left for the next, each tried at most once, and
   * onUnavailable told. sentAtMs is when the answered attempt was sent:
   * validity is counted from it.
   */
  private async call<M extends LockUnaryName>(
    method: M,
    request: RequestOf<M> | ((leftMs: number) => RequestOf<M>),
    deadlineMs: number,
    onUnavailable?: () => void,
  ): Promise<{ response: ResponseOf<M>; sentAtMs: number }> {
    // One deadline for every attempt together: moving on to the next instance does not start the clock again.
    const endsAtMs = performance.now() + deadlineMs;
    let lastError: unknown;
    for (let attempt = 0; attempt < this.endpoints.addresses.length; attempt += 1) {
      const leftMs = endsAtMs - performance.now();
      if (leftMs <= 0) break;
      const { client } = this.endpoints.next();
      // The generated client's methods are overloaded; this is the (request, metadata, options, callback) one.
      const unary = client[method] as unknown as UnaryMethod<RequestOf<M>, ResponseOf<M>>;
      const sentAtMs = performance.now();
      const body = typeof request === 'function' ? request(leftMs) : request;
      try {
        return { response: await callUnary(client, unary, body, { deadlineMs: leftMs }), sentAtMs };
      } catch (error) {
        if (!(error instanceof UnavailableError)) throw error;
        onUnavailable?.();
        lastError = error;
      }
    }
    throw lastError ?? new DeadlineExceededError(`lock.v1.Lock/${method}: no time left for another instance`);
  }
}

function grantResult(response: lockV1.AcquireResponse | lockV1.TryAcquireResponse, sentAtMs: number): LockGrantResult {
  return response.acquired
    ? { acquired: true, token: response.token, leaseId: response.leaseId, validUntilMs: sentAtMs + response.validForMs }
    : { acquired: false, holder: holderOf(response.holder) };
}

function backendKindOf(kind: lockV1.BackendKind | undefined): LockState['backend']['kind'] {
  if (kind === lockV1.BackendKind.BACKEND_KIND_REDIS) return 'redis';
  if (kind === lockV1.BackendKind.BACKEND_KIND_MEMORY) return 'memory';
  return 'unknown';
}

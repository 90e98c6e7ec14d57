// Calls to the coordinator group, wherever its leader is. Only the leader
// answers changes (a follower answers FAILED_PRECONDITION, rebuilt as a
// NotLeaderError with the leader's address when it knows it), members come
// and go, and a change whose answer was lost must be retried with the same
// request_id to be applied at most once. One call is a few rounds (the
// withRetry attempts of @bulwark/rpc, with backoff and jitter between them):
// a round starts at the member believed to lead, follows a leader hint at
// once, moves on at once from a member that cannot be reached, and ends
// when every member was tried or the leader itself asks to wait.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { coordinatorV1 } from '@bulwark/contracts';
import { CancelledError, DeadlineExceededError, isRetryable, NotLeaderError, UnavailableError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { callUnary, withRetry, type RetryPolicy, type UnaryMethod } from '@bulwark/rpc';
import { CoordinatorClients } from './coordinator-clients';

type Service = typeof coordinatorV1.CoordinatorService;

/** The unary methods of coordinator.v1.Coordinator, by their generated names ('registerMember', ...). */
export type CoordinatorMethod = {
  [K in keyof Service]: Service[K]['responseStream'] extends false ? K : never;
}[keyof Service];
export type CoordinatorRequest<M extends CoordinatorMethod> = Parameters<Service[M]['requestSerialize']>[0];
export type CoordinatorResponse<M extends CoordinatorMethod> = ReturnType<Service[M]['responseDeserialize']>;

/** Rounds of a call and the backoff between them, unless the call says otherwise. */
export const defaultCoordinatorRetryPolicy: RetryPolicy = {
  attemptsMax: 10,
  initialBackoffMs: 50,
  backoffMsMax: 1_000,
  multiplier: 2,
};

/** Longest one attempt at one member may take unless the call says otherwise (never past the call's deadline). */
export const defaultAttemptDeadlineMs = 2_000;

/**
 * Methods the leader may hold while it waits for the outcome (Failover waits
 * for a handover's new epoch, up to lease_ms + drift + 2 s): unless the call
 * says otherwise, one attempt at them may take the call's whole deadline.
 */
const waitingMethods: ReadonlySet<CoordinatorMethod> = new Set<CoordinatorMethod>(['failover']);

export interface CoordinatorCallerOptions {
  /** host:port of every coordinator, at least one. */
  coordinators: readonly string[];
  logger: Logger;
  /** Default for CoordinatorCallOptions.attemptDeadlineMs. */
  attemptDeadlineMs?: number;
  /** Default for CoordinatorCallOptions.retry. */
  retry?: Partial<RetryPolicy>;
}

export interface CoordinatorCallOptions {
  /** Deadline for the whole call, retries included, ms from now. No attempt outlives it. */
  deadlineMs: number;
  /**
   * Longest one attempt at one member may take (a member that hangs is left
   * for the next one); the caller's default, or for Failover, which may wait
   * for a handover, the whole deadline.
   */
  attemptDeadlineMs?: number;
  /** Overrides of the caller's retry policy; attemptsMax counts rounds, not single attempts. */
  retry?: Partial<RetryPolicy>;
  /**
   * Once aborted, no further attempt is made: an attempt in flight runs to
   * its answer or its deadline (its outcome is then known, or as unknown as
   * it will get), and the call ends with it, or with CancelledError.
   */
  stopRetrying?: AbortSignal;
}

export class CoordinatorCaller {
  private readonly clients: CoordinatorClients;
  private readonly logger: Logger;
  private readonly attemptDeadlineMs: number;
  private readonly policy: RetryPolicy;
  /** Where the member believed to lead serves; from answers, hints and GetLeader. */
  private leaderAddress: string | undefined;
  /** Which configured member a round without a known leader starts at. */
  private cursor = 0;
  private readonly closing = new AbortController();
  private readonly closed: Promise<never>;

  constructor(options: CoordinatorCallerOptions) {
    this.clients = new CoordinatorClients(options.coordinators);
    this.logger = options.logger;
    this.attemptDeadlineMs = options.attemptDeadlineMs ?? defaultAttemptDeadlineMs;
    this.policy = { ...defaultCoordinatorRetryPolicy, ...options.retry };
    this.closed = new Promise<never>((_, reject) =>
      this.closing.signal.addEventListener('abort', () => reject(new CancelledError('coordinator caller closed')), {
        once: true,
      }),
    );
    // Nobody may be racing against it when it rejects.
    this.closed.catch(() => undefined);
  }

  /** The address of the member this caller believes leads, if any. */
  get leader(): string | undefined {
    return this.leaderAddress;
  }

  /**
   * Calls a unary method at the leader. Every attempt sends the same
   * request; a request with an empty request_id gets one (a UUID) first, so
   * a retried change is answered, not applied twice. Rejects with the
   * first error that is not retryable, with DeadlineExceededError (the
   * last error as its cause) when the deadline leaves no time for another
   * round, with the last error when the rounds run out, and with
   * CancelledError once the caller is closed.
   */
  async call<M extends CoordinatorMethod>(
    method: M,
    request: CoordinatorRequest<M>,
    options: CoordinatorCallOptions,
  ): Promise<CoordinatorResponse<M>> {
    if (this.closing.signal.aborted) throw new CancelledError('coordinator caller closed');
    const sent = withRequestId(request);
    const policy = { ...this.policy, ...options.retry };
    const attemptDeadlineMs =
      options.attemptDeadlineMs ?? (waitingMethods.has(method) ? options.deadlineMs : this.attemptDeadlineMs);
    const deadline = Date.now() + options.deadlineMs;
    let rounds = 0;
    try {
      return await withRetry(
        (round) => {
          rounds = round;
          return this.round(method, sent, deadline, attemptDeadlineMs, options.stopRetrying);
        },
        policy,
        {
          deadline,
          now: Date.now,
          random: Math.random,
          sleep: (ms) => this.pause(ms, options.stopRetrying),
          onRetry: (error, round, delayMs) =>
            this.logger.debug({ err: error, method, round, delayMs }, 'coordinator call failed; retrying'),
        },
      );
    } catch (error) {
      if (this.closing.signal.aborted) throw new CancelledError('coordinator caller closed');
      if (!isRetryable(error) || rounds >= policy.attemptsMax) throw error;
      throw Object.assign(
        new DeadlineExceededError(
          `${method}: no answer within ${options.deadlineMs} ms (${rounds} rounds); last error: ${String(error)}`,
        ),
        { cause: error },
      );
    }
  }

  /** Closes every channel; calls in progress reject with CancelledError. Idempotent. */
  close(): void {
    this.closing.abort();
    this.clients.close();
  }

  /**
   * One round: members in turn, starting at the believed leader, at most
   * one attempt each (a hint may lead to an address outside the list).
   */
  private async round<M extends CoordinatorMethod>(
    method: M,
    request: CoordinatorRequest<M>,
    deadline: number,
    attemptDeadlineMs: number,
    stopRetrying: AbortSignal | undefined,
  ): Promise<CoordinatorResponse<M>> {
    const tried = new Set<string>();
    let target: string | undefined = this.leaderAddress ?? this.untried(tried);
    let lastError: unknown;
    while (target !== undefined) {
      if (stopRetrying?.aborted) throw lastError ?? new CancelledError(`${method}: stopped before another attempt`);
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      tried.add(target);
      try {
        const response = await this.attempt(target, method, request, Math.min(remainingMs, attemptDeadlineMs));
        this.learnFromAnswer(method, target, response);
        return response;
      } catch (error) {
        if (this.closing.signal.aborted) throw error;
        lastError = error;
        target = this.nextTarget(error, target, tried);
      }
    }
    throw lastError ?? new DeadlineExceededError(`${method}: the deadline passed before an attempt`);
  }

  private attempt<M extends CoordinatorMethod>(
    address: string,
    method: M,
    request: CoordinatorRequest<M>,
    deadlineMs: number,
  ): Promise<CoordinatorResponse<M>> {
    const client = this.clients.get(address);
    // The generated client's methods are overloaded; this is the (request, metadata, options, callback) one.
    const unary = client[method] as unknown as UnaryMethod<CoordinatorRequest<M>, CoordinatorResponse<M>>;
    // Fail fast on a member that cannot be reached (UNAVAILABLE), so the round moves on instead of waiting.
    return Promise.race([callUnary(client, unary, request, { deadlineMs }), this.closed]);
  }

  /** Where to go after a failed attempt within the round, or undefined to end the round with that error. */
  private nextTarget(error: unknown, target: string, tried: ReadonlySet<string>): string | undefined {
    if (error instanceof NotLeaderError) {
      const hint = error.details.leaderAddress;
      if (hint) {
        this.leaderAddress = hint;
        // A hint already tried in this round (or to itself): the leader is changing; back off, then retry there.
        return tried.has(hint) ? undefined : hint;
      }
      // An election: nobody knows the leader yet; another member may.
      if (this.leaderAddress === target) this.leaderAddress = undefined;
      return this.untried(tried);
    }
    if (error instanceof UnavailableError || error instanceof DeadlineExceededError) {
      // Down, draining, cut off from its quorum, or hanging: the others may answer or name the leader.
      if (this.leaderAddress === target) this.leaderAddress = undefined;
      const index = this.clients.addresses.indexOf(target);
      if (index >= 0) this.cursor = index + 1;
      return this.untried(tried);
    }
    // Not retryable (the withRetry loop gives up), or retryable at the leader itself after a backoff.
    return undefined;
  }

  /** The first configured member, from the cursor on, not tried in this round. */
  private untried(tried: ReadonlySet<string>): string | undefined {
    const { addresses } = this.clients;
    for (let offset = 0; offset < addresses.length; offset++) {
      const address = addresses[(this.cursor + offset) % addresses.length] as string;
      if (!tried.has(address)) return address;
    }
    return undefined;
  }

  private learnFromAnswer<M extends CoordinatorMethod>(method: M, target: string, response: CoordinatorResponse<M>) {
    if (method === 'getLeader') {
      // Any member answers GetLeader; it names the leader as that member knows it.
      const named = (response as coordinatorV1.GetLeaderResponse).leaderAddress;
      if (named) this.leaderAddress = named;
    } else {
      // Every other unary method is answered only by the leader.
      this.leaderAddress = target;
    }
  }

  /** The backoff between rounds; cut short when the caller closes or the call stops retrying. */
  private async pause(ms: number, stopRetrying: AbortSignal | undefined): Promise<void> {
    const signal = stopRetrying ? AbortSignal.any([this.closing.signal, stopRetrying]) : this.closing.signal;
    try {
      await sleep(ms, undefined, { signal });
    } catch {
      // Closed while waiting: the next round sees it and stops.
    }
  }
}

/** The request as every attempt sends it: with a request_id when it has the field and none was given. */
function withRequestId<R>(request: R): R {
  const fields = request as { requestId?: unknown };
  return fields.requestId === '' ? { ...request, requestId: randomUUID() } : request;
}

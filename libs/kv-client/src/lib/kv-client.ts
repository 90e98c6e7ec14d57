// What application code uses to read and write the KV store (kv.v1.KV)
// through one or more routers. Every call has a deadline, which covers its
// retries. A router that cannot be reached (UNAVAILABLE: down, draining,
// refusing connections) is left for the next one at once, and so is one
// that stays silent for an attempt's bound (cut off from the replicas,
// paused: found by a chaos run, docs/robustness.md); other retryable
// answers (a deadline of the router's own that is shorter than the call's,
// a full queue) are retried after a backoff with full jitter; nothing else
// is retried. Retrying a write is safe because every write carries a request
// id, the caller's or one this client makes, and every attempt of it, on any
// router, carries the same one: the replica group remembers ids in its
// replicated state and answers a repeated one with the first outcome, also
// after a failover, so a write is applied at most once. A write an attempt
// may have delivered without an answer (silent, or its connection cut) may
// have been applied: it ends DEADLINE_EXCEEDED naming its request id,
// whatever a later attempt was refused with, unless that refusal is final
// about the write (the group's state machine answered the request id, or the
// request is malformed). Errors are the typed
// errors of @bulwark/errors, rebuilt from the status and its
// bulwark-error-bin detail (never from message text).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectivityState, Metadata } from '@grpc/grpc-js';
import { commonV1, kvV1 } from '@bulwark/contracts';
import {
  BulwarkError,
  CancelledError,
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  isDecided,
  UnavailableError,
  writeOutcomeUnknown,
} from '@bulwark/errors';
import {
  callUnary,
  errorDetailTrailer,
  fromServiceError,
  withRetry,
  type RetryPolicy,
  type UnaryMethod,
} from '@bulwark/rpc';
import {
  compareOf,
  consistencyOf,
  durabilityOf,
  headerOf,
  keyValueOf,
  putResultOf,
  txnOpOf,
  valueBytes,
  type BatchGetResult,
  type BatchPutInput,
  type BatchPutResult,
  type CallOptions,
  type DeleteOptions,
  type DeleteResult,
  type GetResult,
  type KeyLocation,
  type KeyValue,
  type PutOptions,
  type PutResult,
  type ReadOptions,
  type ScanOptions,
  type ScanPage,
  type Txn,
  type TxnResult,
  type ValueInput,
  type WriteOptions,
} from './kv-types';
import { RouterEndpoints } from './router-endpoints';

export interface KvClientOptions {
  /** host:port of the routers, at least one; any of them serves any key. */
  readonly endpoints: readonly string[];
  /** Deadline of a call that sets none, retries included; default 10,000 ms. */
  readonly callTimeoutMs?: number;
  /**
   * Longest one attempt of the first round waits on one router before the
   * call moves on to the next (a router cut off from the replicas answers
   * nothing until the call's deadline); doubled each round; default
   * 2,000 ms, past a failover's usual length.
   */
  readonly attemptTimeoutMs?: number;
  /** Rounds over the routers (attemptsMax) and the backoff between them. */
  readonly retry?: Partial<RetryPolicy>;
}

export const defaultKvCallTimeoutMs = 10_000;
export const defaultKvAttemptTimeoutMs = 2_000;

/**
 * A round tries every router once; between rounds the client backs off. Five
 * rounds ride out a router restart and fail within about a second when none
 * is up; a failover inside a group is the router's to wait out, not ours.
 */
export const defaultKvRetryPolicy: RetryPolicy = {
  attemptsMax: 5,
  initialBackoffMs: 50,
  backoffMsMax: 1_000,
  multiplier: 2,
};

type Service = typeof kvV1.KVService;
type KvMethod = keyof Service;
type RequestOf<M extends KvMethod> = Parameters<Service[M]['requestSerialize']>[0];
type ResponseOf<M extends KvMethod> = ReturnType<Service[M]['responseDeserialize']>;

export class KvClient {
  private readonly endpoints: RouterEndpoints;
  private readonly callTimeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly policy: RetryPolicy;
  /** Unique per client: ids it made are never made again by it or another client. */
  private readonly requestIdPrefix = `kv-client:${randomBytes(9).toString('base64url')}:`;
  private requestCounter = 0;
  private readonly closing = new AbortController();
  private readonly closed: Promise<never>;

  constructor(options: KvClientOptions) {
    this.endpoints = new RouterEndpoints(options.endpoints);
    this.callTimeoutMs = options.callTimeoutMs ?? defaultKvCallTimeoutMs;
    checkTimeout(this.callTimeoutMs, 'callTimeoutMs');
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? defaultKvAttemptTimeoutMs;
    checkTimeout(this.attemptTimeoutMs, 'attemptTimeoutMs');
    this.policy = { ...defaultKvRetryPolicy, ...options.retry };
    this.closed = new Promise<never>((_, reject) =>
      this.closing.signal.addEventListener('abort', () => reject(new CancelledError('the KV client is closed')), {
        once: true,
      }),
    );
    // Nobody may be racing against it when it rejects.
    this.closed.catch(() => undefined);
  }

  /** The routers, as configured (duplicates dropped). */
  get routers(): readonly string[] {
    return this.endpoints.addresses;
  }

  /** A request id no other write of this client or any other carries. */
  newRequestId(): string {
    this.requestCounter += 1;
    return `${this.requestIdPrefix}${this.requestCounter.toString(36)}`;
  }

  /** Writes a value; with expectedVersion, only if the key is at that version (succeeded false otherwise). */
  async put(key: string, value: ValueInput, options: PutOptions = {}): Promise<PutResult> {
    const requestId = options.requestId || this.newRequestId();
    const response = await this.call(
      'put',
      {
        key,
        value: valueBytes(value),
        ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
        durability: durabilityOf(options.durability),
        fence: options.fence,
        requestId,
      },
      options,
    );
    return putResultOf(response, requestId);
  }

  /** Reads a key; kv is undefined when it does not exist. */
  async get(key: string, options: ReadOptions = {}): Promise<GetResult> {
    const response = await this.call(
      'get',
      { key, consistency: consistencyOf(options.consistency), maxStalenessMs: maxStalenessOf(options) },
      options,
    );
    return { header: headerOf(response.header), kv: response.found ? keyValueOf(response.kv) : undefined };
  }

  /** Removes a key; with expectedVersion, only if it is at that version. */
  async delete(key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    const requestId = options.requestId || this.newRequestId();
    const response = await this.call(
      'delete',
      {
        key,
        ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
        durability: durabilityOf(options.durability),
        fence: options.fence,
        requestId,
      },
      options,
    );
    return { header: headerOf(response.header), succeeded: response.succeeded, existed: response.existed, requestId };
  }

  /** Reads 1 to 1000 keys, of any groups; results in request order. */
  async batchGet(keys: readonly string[], options: ReadOptions = {}): Promise<BatchGetResult[]> {
    const response = await this.call(
      'batchGet',
      { keys: [...keys], consistency: consistencyOf(options.consistency), maxStalenessMs: maxStalenessOf(options) },
      options,
    );
    return response.results.map((result) => ({
      key: result.key,
      kv: result.found ? keyValueOf(result.kv) : undefined,
      header: headerOf(result.header),
    }));
  }

  /**
   * Writes 1 to 1000 keys, each on its own (not atomically), each with its
   * own request id; results in request order. A put that failed alone is a
   * result with its typed error; the call as a whole is retried as any write.
   */
  async batchPut(puts: readonly BatchPutInput[], options: CallOptions = {}): Promise<BatchPutResult[]> {
    const requests: kvV1.PutRequest[] = puts.map((put) => ({
      key: put.key,
      value: valueBytes(put.value),
      ...(put.expectedVersion === undefined ? {} : { expectedVersion: put.expectedVersion }),
      durability: durabilityOf(put.durability),
      fence: put.fence,
      requestId: put.requestId || this.newRequestId(),
    }));
    const response = await this.call('batchPut', { puts: requests }, options);
    return response.results.map((result, index): BatchPutResult => {
      const requestId = requests[index]?.requestId ?? '';
      const outcome = result.outcome;
      if (outcome?.$case === 'response') {
        return { key: result.key, requestId, ok: true, result: putResultOf(outcome.response, requestId) };
      }
      const error =
        outcome?.$case === 'error'
          ? statusError(outcome.error)
          : new InternalError(`puts[${index}]: the router answered neither a response nor an error`);
      return { key: result.key, requestId, ok: false, error };
    });
  }

  /** One page of the keys that start with prefix (every key when empty), in key order. */
  async scan(prefix: string, options: ScanOptions = {}): Promise<ScanPage> {
    const response = await this.call(
      'scan',
      {
        prefix,
        limit: options.pageSize ?? 0,
        pageToken: options.pageToken ?? '',
        consistency: consistencyOf(options.consistency),
        maxStalenessMs: options.maxStalenessMs ?? 0,
      },
      options,
    );
    return {
      header: headerOf(response.header),
      kvs: response.kvs.map((kv) => keyValueOf(kv) as KeyValue),
      nextPageToken: response.nextPageToken,
    };
  }

  /** Every key that starts with prefix, page by page (each page its own call, with its own deadline and retries). */
  async *scanAll(prefix: string, options: Omit<ScanOptions, 'pageToken'> = {}): AsyncGenerator<KeyValue> {
    let pageToken = '';
    do {
      const page = await this.scan(prefix, { ...options, pageToken });
      yield* page.kvs;
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  }

  /** Applies a transaction atomically: the success ops if every compare holds, else the failure ops. */
  async txn(txn: Txn, options: WriteOptions = {}): Promise<TxnResult> {
    const requestId = options.requestId || this.newRequestId();
    const response = await this.call(
      'txn',
      {
        compares: (txn.compares ?? []).map(compareOf),
        success: (txn.success ?? []).map(txnOpOf),
        failure: (txn.failure ?? []).map(txnOpOf),
        durability: durabilityOf(options.durability),
        fence: options.fence,
        requestId,
      },
      options,
    );
    return {
      header: headerOf(response.header),
      succeeded: response.succeeded,
      results: response.results.map((result) => ({
        key: result.key,
        version: result.version,
        existed: result.existed,
      })),
      requestId,
    };
  }

  /** The group a key belongs to and its members, as the answering router's topology has them. */
  async locate(key: string, options: CallOptions = {}): Promise<KeyLocation> {
    const response = await this.call('locate', { key }, options);
    return {
      header: headerOf(response.header),
      key: response.key,
      keyHash: response.keyHash,
      groupId: response.groupId,
      ringVersion: response.ringVersion,
      epoch: response.epoch,
      primary: response.primary,
      replicas: response.replicas.map((replica) => ({ ...replica })),
    };
  }

  /** Closes every channel; calls in progress reject with CancelledError. Idempotent. */
  close(): void {
    this.closing.abort();
    this.endpoints.close();
  }

  /**
   * One call: rounds (withRetry attempts) of at most one attempt per router,
   * starting at the router calls go to now. The same request is sent every
   * time, so a write keeps its request id on every router.
   */
  private async call<M extends KvMethod>(
    method: M,
    request: RequestOf<M>,
    options: CallOptions,
  ): Promise<ResponseOf<M>> {
    if (this.closing.signal.aborted) throw new CancelledError('the KV client is closed');
    const timeoutMs = options.timeoutMs ?? this.callTimeoutMs;
    checkTimeout(timeoutMs, 'timeoutMs');
    const deadline = performance.now() + timeoutMs;
    const attempts: Attempts = { unanswered: false };
    try {
      return await withRetry((round) => this.round(method, request, deadline, round, attempts), this.policy, {
        deadline,
        now: () => performance.now(),
        random: Math.random,
        sleep: (ms) => this.pause(ms),
      });
    } catch (error) {
      if (this.closing.signal.aborted) throw new CancelledError('the KV client is closed');
      const [writeId, ...otherIds] = requestIdsOf(method, request);
      // Sent and never answered, a write may have been applied: no later refusal (another router's stale ring,
      // unavailability) says otherwise; only the group's own answer to the request id does, or a malformed request.
      if (
        writeId !== undefined &&
        attempts.unanswered &&
        !isDecided(error) &&
        !(error instanceof InvalidArgumentError)
      ) {
        throw writeOutcomeUnknown(
          `kv.v1.KV/${method}: an attempt went unanswered`,
          writeId,
          error,
          otherIds.length > 0,
        );
      }
      if (!(error instanceof UnavailableError)) throw error;
      throw Object.assign(
        new UnavailableError(
          `kv.v1.KV/${method}: unavailable at every router (${this.routers.join(', ')}); last: ${error.message}`,
        ),
        { cause: error },
      );
    }
  }

  /**
   * One attempt at each router in turn. An attempt's bound doubles with each
   * round, so a call that is slow everywhere (a large batch) still gets the
   * time it needs, while a silent router costs the first round only its bound.
   */
  private async round<M extends KvMethod>(
    method: M,
    request: RequestOf<M>,
    deadline: number,
    round: number,
    attempts: Attempts,
  ): Promise<ResponseOf<M>> {
    const boundMs = this.attemptTimeoutMs * 2 ** (round - 1);
    let lastError: unknown;
    for (const address of this.endpoints.inTurn()) {
      const remainingMs = Math.floor(deadline - performance.now());
      if (remainingMs <= 0) break;
      const client = this.endpoints.client(address);
      // The generated client's methods are overloaded; this is the (request, metadata, options, callback) one.
      const unary = client[method] as unknown as UnaryMethod<RequestOf<M>, ResponseOf<M>>;
      const attemptMs = Math.min(remainingMs, boundMs);
      const sentConnected = client.getChannel().getConnectivityState(false) === connectivityState.READY;
      try {
        return await Promise.race([callUnary(client, unary, request, { deadlineMs: attemptMs }), this.closed]);
      } catch (error) {
        if (mayHaveBeenSent(error, sentConnected, client.getChannel().getConnectivityState(false))) {
          attempts.unanswered = true;
        }
        // Silent until the attempt's bound, with time left for the call: cut off from the replicas, or paused.
        const silent = error instanceof DeadlineExceededError && attemptMs < remainingMs;
        if (this.closing.signal.aborted || !(error instanceof UnavailableError || silent)) throw error;
        this.endpoints.unreachable(address);
        lastError = error;
      }
    }
    throw lastError ?? new DeadlineExceededError(`kv.v1.KV/${method}: the deadline passed before an attempt`);
  }

  /** The backoff between rounds; cut short when the client closes. */
  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.closing.signal });
    } catch {
      // Closed while waiting: the caller sees it next.
    }
  }
}

/** What a call's attempts have shown so far. */
interface Attempts {
  /** An attempt may have reached a router and got no answer that says what became of it: it may have taken effect. */
  unanswered: boolean;
}

/**
 * Whether an attempt that failed so may have reached a router unanswered: a
 * deadline (its own bound, the call's, or the router's, which says so when it
 * is unsure), or a failure without Bulwark's detail (a connection dropped
 * mid-call, a router killed), unless the channel had no connection when the
 * attempt began and has failed to connect since (a refused connection: the
 * request never left). Any other error is a router's answer, which is
 * DEADLINE_EXCEEDED whenever the router is unsure itself.
 */
function mayHaveBeenSent(error: unknown, sentConnected: boolean, channelNow: connectivityState): boolean {
  if (error instanceof DeadlineExceededError) return true;
  if (!(error instanceof BulwarkError) || !error.details.withoutDetail) return false;
  return sentConnected || channelNow !== connectivityState.TRANSIENT_FAILURE;
}

/** The request ids a write carries (a batch's, each put's); none for a read. */
function requestIdsOf<M extends KvMethod>(method: M, request: RequestOf<M>): string[] {
  switch (method) {
    case 'put':
    case 'delete':
    case 'txn':
      return [(request as kvV1.PutRequest | kvV1.DeleteRequest | kvV1.TxnRequest).requestId];
    case 'batchPut':
      return (request as kvV1.BatchPutRequest).puts.map((put) => put.requestId);
    default:
      return [];
  }
}

function checkTimeout(ms: number, name: string): void {
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`${name} must be a positive number of ms, got ${ms}`);
}

function maxStalenessOf(options: ReadOptions): number {
  return options.consistency === 'bounded' ? options.maxStalenessMs : 0;
}

/** The typed error of one put of a BatchPut, read as the status of the Put it stands for would be. */
function statusError(status: commonV1.Status): BulwarkError {
  const metadata = new Metadata();
  if (status.detail) {
    metadata.set(errorDetailTrailer, Buffer.from(commonV1.ErrorDetail.encode(status.detail).finish()));
  }
  return fromServiceError(
    Object.assign(new Error(status.message), { code: status.code, details: status.message, metadata }),
  );
}

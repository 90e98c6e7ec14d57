// kv.v1.KV on top of replica groups. Every request is checked here with the
// replica's own checks (so a bad one never leaves the router, and the field
// is named as the client wrote it), placed on the hash ring, and sent on
// the Operate stream of the member that may answer: the primary for writes
// and STRONG reads, a balanced pick for BOUNDED and EVENTUAL ones.
//
// Retries are safe by construction. A write carries a request id (the
// client's, or one this router makes per call), and the group answers a
// repeated id with the first outcome, also after a failover, so a retry
// is never applied twice. What is retried: a member that is not (or no
// longer) primary, UNAVAILABLE (a stream broke, a lease is not valid yet,
// a backup is behind), a full queue, and a group_id refusal (the ring
// moved). Before retrying, a router that learns from the refusal that the
// replica saw a newer topology waits until its own copy has caught up;
// otherwise it backs off exponentially with full jitter and wakes early
// when routing changes. Nothing is retried past the caller's deadline,
// which every attempt carries to the replica. An operation waiting on a
// primary that is replaced meanwhile (paused, cut off) is abandoned at
// once and retried at the new one with the same request id.
import { randomBytes } from 'node:crypto';
import type { commonV1, kvV1 } from '@bulwark/contracts';
import {
  BulwarkError,
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  isDecided,
  isRetryable,
  ResourceExhaustedError,
  UnavailableError,
  writeOutcomeUnknown,
} from '@bulwark/errors';
import { compareKeys, type KvLimits } from '@bulwark/kv-state';
import type { Logger } from '@bulwark/logging';
import {
  deleteCommand,
  getQuery,
  operationError,
  putCommand,
  scanQuery,
  txnCommand,
  checkText,
  type ReadConsistency,
} from '@bulwark/shard-codec';
import { checkedAs, clientFields } from './client-fields';
import type { OperationAnswer, OperationRequest } from './operate-stream';
import { decodePageToken, encodePageToken } from './page-token';
import type { ReplicaChannel, ReplicaChannels } from './replica-pool';
import type { BalancedConsistency, ReadTarget, ReadTargets } from './read-targets';
import { countRetry, type RoutedMethod } from './router-metrics';
import { singleGroup, type GroupRoute, type RoutingTable } from './routing-table';
import type { RoutingView } from './routing-view';

/** Keys in one BatchGet, puts in one BatchPut (kv.v1). */
export const batchKeysMax = 1_000;
/** Keys and values in one BatchGet answer; more is RESOURCE_EXHAUSTED naming keys (ask for fewer). */
export const batchGetBytesMax = 64 * 1024 * 1024;
/** How long one attempt of a balanced read may wait on a member before trying another. */
export const balancedReadAttemptMs = 1_000;

export interface RetryBackoff {
  /** Ceiling of the first delay; it doubles per retry up to backoffMsMax. Each delay is uniform below its ceiling. */
  readonly initialBackoffMs: number;
  readonly backoffMsMax: number;
}

export const defaultRetryBackoff: RetryBackoff = { initialBackoffMs: 10, backoffMsMax: 250 };

export interface KvRouterOptions {
  /** This router's member id: BatchGet, BatchPut and Scan headers name it. */
  readonly memberId: string;
  readonly view: RoutingView;
  readonly pool: ReplicaChannels;
  readonly reads: ReadTargets;
  readonly limits: KvLimits;
  readonly logger: Logger;
  readonly backoff?: RetryBackoff;
  /** Uniform in [0, 1): the jitter. */
  readonly random?: () => number;
}

/** Absolute, on performance.now(). */
export type Deadline = number;

type Target = 'primary' | ReadConsistency;

interface Routed<T> {
  readonly answer: T;
  readonly group: GroupRoute;
  readonly memberId: string;
}

/** An attempt in flight at a primary, abandoned when its group moves to another epoch or primary. */
interface PrimaryAttempt {
  readonly epoch: bigint;
  readonly primary: string;
  readonly abandon: (error: BulwarkError) => void;
}

export class KvRouter {
  private readonly backoff: RetryBackoff;
  private readonly random: () => number;
  private readonly requestIdPrefix: string;
  private requestCounter = 0;
  private readonly primaryAttempts = new Map<string, Set<PrimaryAttempt>>();
  private readonly stopWatching: () => void;

  constructor(private readonly options: KvRouterOptions) {
    this.backoff = options.backoff ?? defaultRetryBackoff;
    this.random = options.random ?? Math.random;
    // Unique per router process: ids made before a restart are never made again.
    this.requestIdPrefix = `${options.memberId}:${randomBytes(6).toString('hex')}:`;
    this.stopWatching = options.view.onRoutingChange((table) => this.tableChanged(table));
  }

  close(): void {
    this.stopWatching();
  }

  put(request: kvV1.PutRequest, deadline: Deadline): Promise<kvV1.PutResponse> {
    return this.putAt('Put', request, deadline, '');
  }

  async delete(request: kvV1.DeleteRequest, deadline: Deadline): Promise<kvV1.DeleteResponse> {
    return clientFields('', async () => {
      const checked = { groupId: '', request: { ...request, requestId: this.requestIdFor(request.requestId) } };
      deleteCommand(checked, this.options.limits, 0n);
      const { answer } = await this.routeKey(
        'Delete',
        request.key,
        'primary',
        deadline,
        (groupId) => ({ $case: 'delete', delete: { ...checked, groupId } }),
        checked.request.requestId,
      );
      if (answer.$case !== 'delete') unexpected(answer, 'delete');
      return answer.delete.response ?? missing('delete');
    });
  }

  async get(request: kvV1.GetRequest, deadline: Deadline): Promise<kvV1.GetResponse> {
    return clientFields('', async () => {
      const query = getQuery({ groupId: '', request }, this.options.limits);
      const { answer } = await this.routeKey('Get', query.key, query.consistency, deadline, (groupId) => ({
        $case: 'get',
        get: { groupId, request },
      }));
      if (answer.$case !== 'get') unexpected(answer, 'get');
      return answer.get.response ?? missing('get');
    });
  }

  async txn(request: kvV1.TxnRequest, deadline: Deadline): Promise<kvV1.TxnResponse> {
    return clientFields('', async () => {
      const checked = { groupId: '', request: { ...request, requestId: this.requestIdFor(request.requestId) } };
      const { command } = txnCommand(checked, this.options.limits, 0n);
      if (command.body.type !== 'txn') throw new InternalError('txnCommand made a command that is not a transaction');
      const { compares, success, failure } = command.body;
      const keyed = [
        ...compares.map((compare, index) => ({ key: compare.key, field: `compares[${index}].key` })),
        ...success.map((op, index) => ({ key: op.key, field: `success[${index}].${op.type}.key` })),
        ...failure.map((op, index) => ({ key: op.key, field: `failure[${index}].${op.type}.key` })),
      ];
      if (keyed.length === 0) throw new InvalidArgumentError('compares', 'a transaction must name at least one key');
      const { answer } = await this.route(
        'Txn',
        'primary',
        deadline,
        (table) => singleGroup(table, keyed),
        (connection, groupId, timeoutMs) =>
          connection.submit({ $case: 'txn', txn: { ...checked, groupId } }, timeoutMs),
        checked.request.requestId,
      );
      if (answer.$case !== 'txn') unexpected(answer, 'txn');
      return answer.txn.response ?? missing('txn');
    });
  }

  async batchGet(request: kvV1.BatchGetRequest, deadline: Deadline): Promise<kvV1.BatchGetResponse> {
    checkBatchSize(request.keys, 'keys');
    const { consistency, maxStalenessMs } = request;
    request.keys.forEach((key, index) =>
      checkText(key, `keys[${index}]`, this.options.limits.keyBytesMax, 'keyBytesMax'),
    );
    const query = checkedAs('', () =>
      getQuery(
        { groupId: '', request: { key: request.keys[0] ?? '', consistency, maxStalenessMs } },
        this.options.limits,
      ),
    );
    const results = await clientFields('', () =>
      Promise.all(
        request.keys.map(async (key): Promise<kvV1.BatchGetResult> => {
          const { answer } = await this.routeKey('BatchGet', key, query.consistency, deadline, (groupId) => ({
            $case: 'get',
            get: { groupId, request: { key, consistency, maxStalenessMs } },
          }));
          if (answer.$case !== 'get') unexpected(answer, 'get');
          const response = answer.get.response ?? missing('get');
          return { key, found: response.found, kv: response.kv, header: response.header };
        }),
      ),
    );
    let bytes = 0;
    for (const result of results) bytes += (result.kv?.value.length ?? 0) + result.key.length * 3;
    if (bytes > batchGetBytesMax) {
      throw new ResourceExhaustedError(
        'keys',
        `the answer would hold about ${bytes} bytes of keys and values, over ${batchGetBytesMax}: ask for fewer keys`,
        { retryable: false },
      );
    }
    return { header: this.header(), results };
  }

  async batchPut(request: kvV1.BatchPutRequest, deadline: Deadline): Promise<kvV1.BatchPutResponse> {
    checkBatchSize(request.puts, 'puts');
    // A group answers a repeated request id with the first outcome: two puts of one batch sharing one would lose one.
    const firstWithId = new Map<string, number>();
    request.puts.forEach((put, index) => {
      if (put.requestId === '') return;
      const first = firstWithId.get(put.requestId);
      if (first !== undefined) {
        throw new InvalidArgumentError(`puts[${index}].request_id`, `repeats the request_id of puts[${first}]`);
      }
      firstWithId.set(put.requestId, index);
    });
    const results = await Promise.all(
      request.puts.map(async (put, index): Promise<kvV1.BatchPutResult> => {
        try {
          return {
            key: put.key,
            outcome: { $case: 'response', response: await this.putAt('BatchPut', put, deadline, `puts[${index}]`) },
          };
        } catch (error) {
          const failure: commonV1.Status = operationError(error);
          if (failure.code === 13) this.options.logger.error({ err: error }, 'internal error in a BatchPut put');
          return { key: put.key, outcome: { $case: 'error', error: failure } };
        }
      }),
    );
    return { header: this.header(), results };
  }

  /**
   * One page across every group: each group lists up to a page after the
   * token's key, and the page holds the merged keys up to the first key a
   * group did not list (beyond it, that group may hold keys not seen yet).
   */
  async scan(request: kvV1.ScanRequest, deadline: Deadline): Promise<kvV1.ScanResponse> {
    const { prefix, consistency, maxStalenessMs } = request;
    const query = checkedAs('', () =>
      scanQuery(
        { groupId: '', prefix, startKey: '', endKey: '', limit: request.limit, consistency, maxStalenessMs },
        this.options.limits,
      ),
    );
    const afterKey =
      request.pageToken === ''
        ? undefined
        : decodePageToken(request.pageToken, prefix, this.options.limits.keyBytesMax).afterKey;
    const limit = query.scan.limit;
    // One more than the page, since a group lists the token's key itself again.
    const asked = Math.min(limit + (afterKey === undefined ? 0 : 1), this.options.limits.scanLimitMax);
    const table = await this.options.view.ready(remainingMs(deadline));
    const pages = await Promise.all(
      table.ringGroups().map(async (group) => {
        const { answer } = await this.route(
          'Scan',
          query.consistency,
          deadline,
          (current) => current.group(group.id) ?? group,
          (connection, groupId, timeoutMs) =>
            connection.scan(
              { groupId, prefix, startKey: afterKey ?? '', endKey: '', limit: asked, consistency, maxStalenessMs },
              timeoutMs,
            ),
        );
        return { groupId: group.id, page: answer };
      }),
    );
    let bound: string | undefined;
    for (const { page } of pages) {
      if (page.nextStartKey !== '' && (bound === undefined || compareKeys(page.nextStartKey, bound) < 0)) {
        bound = page.nextStartKey;
      }
    }
    // A key a group lists but the ring of this page places elsewhere is a copy a ring change left
    // behind: it counts for paging (so pages always advance), never as an answer. Of equal keys the
    // owned copy sorts first, so a page cut between them keeps it.
    const listed = pages
      .flatMap(({ groupId, page }) => page.kvs.map((kv) => ({ kv, owned: table.groupOf(kv.key).id === groupId })))
      .filter(({ kv }) => kv.key !== afterKey && (bound === undefined || compareKeys(kv.key, bound) < 0))
      .sort((a, b) => compareKeys(a.kv.key, b.kv.key) || Number(b.owned) - Number(a.owned));
    const consumed = listed.slice(0, limit);
    const kvs = consumed.filter(({ owned }) => owned).map(({ kv }) => kv);
    const more = bound !== undefined || listed.length > limit;
    const last = consumed[consumed.length - 1];
    const nextPageToken = more && last ? encodePageToken({ prefix, afterKey: last.kv.key }) : '';
    return { header: this.header(table.revision), kvs, nextPageToken };
  }

  async locate(request: kvV1.LocateRequest, deadline: Deadline): Promise<kvV1.LocateResponse> {
    const key = checkText(request.key, 'key', this.options.limits.keyBytesMax, 'keyBytesMax');
    const table = await this.options.view.ready(remainingMs(deadline));
    const placement = table.place(key);
    const { group } = placement;
    const ordered = [group.primary, ...group.members.filter((id) => id !== group.primary)].filter((id) => id !== '');
    return {
      header: { ...this.header(table.revision), epoch: group.epoch, groupId: group.id },
      key,
      keyHash: placement.keyHash,
      groupId: group.id,
      ringVersion: placement.ringVersion,
      epoch: group.epoch,
      primary: group.primary,
      replicas: ordered.map((memberId) => ({
        memberId,
        address: table.addressOf(memberId) ?? '',
        primary: memberId === group.primary,
        inSync: group.inSync.includes(memberId),
        serving: this.options.pool.serving(memberId),
      })),
    };
  }

  private putAt(
    method: RoutedMethod,
    request: kvV1.PutRequest,
    deadline: Deadline,
    path: string,
  ): Promise<kvV1.PutResponse> {
    return clientFields(path, async () => {
      const checked = { groupId: '', request: { ...request, requestId: this.requestIdFor(request.requestId) } };
      putCommand(checked, this.options.limits, 0n);
      const { answer } = await this.routeKey(
        method,
        request.key,
        'primary',
        deadline,
        (groupId) => ({ $case: 'put', put: { ...checked, groupId } }),
        checked.request.requestId,
      );
      if (answer.$case !== 'put') unexpected(answer, 'put');
      return answer.put.response ?? missing('put');
    });
  }

  // ---- Routing and retries ----

  private routeKey(
    method: RoutedMethod,
    key: string,
    target: Target,
    deadline: Deadline,
    request: (groupId: string) => OperationRequest,
    requestId?: string,
  ): Promise<Routed<OperationAnswer>> {
    return this.route(
      method,
      target,
      deadline,
      (table) => table.groupOf(key),
      (connection, groupId, timeoutMs) => connection.submit(request(groupId), timeoutMs),
      requestId,
    );
  }

  /**
   * Sends to the member that may answer and retries what a retry can fix.
   * requestId marks a write: once an attempt may have reached a primary, a
   * write the router gives up on ends DEADLINE_EXCEEDED ("may or may not
   * have been applied", naming the id to retry with), never with a status
   * that looks safe to retry under a new id. Each retry counts under `method`.
   */
  private async route<T>(
    method: RoutedMethod,
    target: Target,
    deadline: Deadline,
    groupOf: (table: RoutingTable) => GroupRoute,
    send: (connection: ReplicaChannel, groupId: string, timeoutMs: number) => Promise<T>,
    requestId?: string,
  ): Promise<Routed<T>> {
    let lastError: unknown;
    let mayHaveApplied = false;
    const giveUp = (error: unknown) => outcomeOf(error, requestId, mayHaveApplied);
    for (let attempt = 1; ; attempt++) {
      const timeoutMs = remainingMs(deadline);
      if (timeoutMs <= 0) throw giveUp(lastError ?? deadlinePassed());
      const table = await this.options.view.ready(timeoutMs);
      let readTarget: ReadTarget | undefined;
      let memberId = '';
      let balanced = false;
      let sent = false;
      let failure: unknown;
      try {
        const group = groupOf(table);
        readTarget = target === 'primary' || target === 'strong' ? undefined : this.options.reads.pick(group, target);
        memberId = readTarget?.memberId ?? group.primary;
        if (memberId === '') {
          throw new UnavailableError(
            `group '${group.id}' has no primary at epoch ${group.epoch}: a failover is under way`,
          );
        }
        const address = table.addressOf(memberId);
        if (address === undefined) throw new UnavailableError(`member '${memberId}' has not registered its address`);
        balanced = memberId !== group.primary;
        // A balanced read may move on from a member that went silent (paused, cut off): reads are idempotent.
        const attemptMs = balanced ? Math.min(remainingMs(deadline), balancedReadAttemptMs) : remainingMs(deadline);
        const sending = send(this.options.pool.connection(memberId, address), group.id, attemptMs);
        sent = true;
        const answer = balanced ? await sending : await this.whilePrimary(sending, group);
        return { answer, group, memberId };
      } catch (error) {
        failure = error;
      } finally {
        readTarget?.finished();
      }
      const silent = balanced && failure instanceof DeadlineExceededError && remainingMs(deadline) > 0;
      if (sent && requestId !== undefined && mayHaveTakenEffect(failure)) mayHaveApplied = true;
      if (!silent && !retryable(failure)) throw giveUp(failure);
      if (readTarget && balanced && (failure instanceof UnavailableError || silent)) {
        this.options.reads.refused(memberId, target as BalancedConsistency);
      }
      lastError = failure;
      if (!(await this.pause(attempt, failure, table, deadline))) throw giveUp(failure);
      countRetry(method);
    }
  }

  /** answer, unless group's primary changes first: then UNAVAILABLE, to retry at the new one. */
  private whilePrimary<T>(answer: Promise<T>, group: GroupRoute): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let attempts = this.primaryAttempts.get(group.id);
      if (!attempts) {
        attempts = new Set();
        this.primaryAttempts.set(group.id, attempts);
      }
      const attempt: PrimaryAttempt = { epoch: group.epoch, primary: group.primary, abandon: reject };
      attempts.add(attempt);
      answer.then(resolve, reject).finally(() => attempts.delete(attempt));
    });
  }

  private tableChanged(table: RoutingTable): void {
    for (const [groupId, attempts] of this.primaryAttempts) {
      const group = table.group(groupId);
      for (const attempt of attempts) {
        if (group && group.epoch === attempt.epoch && group.primary === attempt.primary) continue;
        attempts.delete(attempt);
        attempt.abandon(
          new UnavailableError(
            `group '${groupId}' moved to epoch ${group?.epoch ?? '?'} (primary '${group?.primary ?? ''}') while this operation waited`,
          ),
        );
      }
      if (attempts.size === 0) this.primaryAttempts.delete(groupId);
    }
  }

  /**
   * Between attempts. If the refusal came from a member with a newer
   * topology, catch up first; if routing has changed since the attempt (a
   * new primary, epoch, ring or address), retry at once. Otherwise wait the
   * jittered backoff, less if routing changes meanwhile: lease renewals are
   * revisions too, several a second, and change nothing worth waking for.
   * False when the deadline would pass first.
   */
  private async pause(attempt: number, error: unknown, table: RoutingTable, deadline: Deadline): Promise<boolean> {
    const { view } = this.options;
    const reported = error instanceof BulwarkError ? error.details.revision : undefined;
    if (reported !== undefined && reported > table.revision) await view.caughtUp(reported, remainingMs(deadline));
    if ((view.current()?.routingKey ?? table.routingKey) !== table.routingKey) return remainingMs(deadline) > 0;
    const ceiling = Math.min(this.backoff.backoffMsMax, this.backoff.initialBackoffMs * 2 ** Math.min(attempt - 1, 30));
    const delayMs = this.random() * ceiling;
    if (delayMs >= remainingMs(deadline)) return false;
    await view.routingChange(delayMs);
    return true;
  }

  private requestIdFor(clientRequestId: string): string {
    if (clientRequestId !== '') return clientRequestId;
    this.requestCounter++;
    return `${this.requestIdPrefix}${this.requestCounter.toString(36)}`;
  }

  private header(revision = this.options.view.current()?.revision ?? 0n): commonV1.ResponseHeader {
    return { memberId: this.options.memberId, epoch: 0n, ballot: undefined, revision, sequence: 0n, groupId: '' };
  }
}

/** What a retry may fix: a moved primary, an unavailable member, a bound that empties by itself, a group_id the replica says is stale. */
function retryable(error: unknown): boolean {
  if (!(error instanceof BulwarkError)) return false;
  switch (error.kind) {
    case 'deadline-exceeded':
      return false;
    case 'failed-precondition':
      return error.details.field === 'group_id';
    default:
      return isRetryable(error);
  }
}

/** Whether a write that failed this way may still have been applied: everything but a refusal before proposing. */
function mayHaveTakenEffect(error: unknown): boolean {
  if (!(error instanceof BulwarkError)) return true;
  return !['not-leader', 'invalid-argument', 'resource-exhausted', 'failed-precondition'].includes(error.kind);
}

/** The error a call ends with: for a write that may have been applied, DEADLINE_EXCEEDED naming its request id. */
function outcomeOf(error: unknown, requestId: string | undefined, mayHaveApplied: boolean): unknown {
  // The group's state machine answered this request id: whatever the earlier attempts did, this is final.
  if (requestId === undefined || !mayHaveApplied || isDecided(error)) return error;
  return writeOutcomeUnknown('no definite answer before the deadline', requestId, error);
}

export function remainingMs(deadline: Deadline): number {
  return deadline - performance.now();
}

function deadlinePassed(): DeadlineExceededError {
  return new DeadlineExceededError('the call deadline passed before the router could answer');
}

function checkBatchSize(items: readonly unknown[], field: string): void {
  if (!Array.isArray(items) || items.length === 0)
    throw new InvalidArgumentError(field, 'must hold at least one entry');
  if (items.length > batchKeysMax) {
    throw new InvalidArgumentError(field, `has ${items.length} entries, over the limit of ${batchKeysMax}`);
  }
}

function unexpected(answer: OperationAnswer, kind: string): never {
  throw new InternalError(`a replica answered a ${kind} with a ${answer.$case}`);
}

function missing(kind: string): never {
  throw new InternalError(`a replica answered a ${kind} without a response`);
}

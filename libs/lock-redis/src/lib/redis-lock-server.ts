// One Redis server as a LockServer. Each method is one Lua script (EVALSHA),
// so it is atomic on that server. The scripts are loaded (SCRIPT LOAD) as
// each connection becomes ready; a NOSCRIPT answer (a server whose script
// cache was emptied under a live connection) ran nothing, fails the call as
// unavailable and reloads them. It is never resent: a resend would reach
// the server after calls sent since, and the quorum's undo of a grant
// relies on the grant running before the release that undoes it. Every call
// answers within its timeout or rejects with UnavailableError naming the
// server: a server that is down, hangs, or answers something the scripts
// cannot have produced counts as unavailable, never as an answer.
// Each connection first checks the server's mark (lock-keys.ts,
// serverMarkKey): calls wait for that check, and a server without its mark
// answers them unavailable until RedisLockServers restores and marks it.
import { BulwarkError, InvalidArgumentError, UnavailableError } from '@bulwark/errors';
import {
  requireAttempt,
  requireToken,
  requireTicket,
  requireWaiterId,
  requireWaiterLeaseMs,
  type LockServer,
  type ServerEnqueue,
  type ServerEnqueued,
  type ServerGrant,
  type ServerLockState,
  type ServerRelease,
} from '@bulwark/lock-core';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import {
  defaultConnectTimeoutMs,
  defaultReconnectDelayMsMax,
  redisConnectionOptions,
  timeoutMsMax,
} from './redis-connection';
import {
  decodeHolder,
  encodeClaim,
  encodeHolder,
  lockKeys,
  lockKeysPattern,
  parseToken,
  releasedChannel,
  restoredKindOf,
  manualMarkValue,
  serverMarkKey,
  serverRestoringKey,
  serverSuspectKey,
  type LockKeys,
  type RestoredKeyKind,
} from './lock-keys';
import {
  parseDoneReply,
  parseEnqueueReply,
  parseGrantReply,
  parseInspectReply,
  parseRefreshReply,
} from './lock-replies';
import {
  enqueueScript,
  grantScript,
  inspectScript,
  leaveScript,
  beginRestoreScript,
  markNewScript,
  markRestoredScript,
  refreshScript,
  releaseScript,
  restoreScript,
  rewriteMarkScript,
  unmarkedErrorPrefix,
} from './lock-scripts';
import { configValueOf } from './redis-lock-events-parsing';
import { TurnBatches } from './turn-batches';

export interface RedisLockServerOptions {
  host: string;
  port: number;
  /** Names the server in errors and logs; host:port unless given. */
  id?: string;
  /** How long one connection attempt may take before it counts as failed. */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts, which back off from 50 ms. */
  reconnectDelayMsMax?: number;
  /** Calls sent and not answered yet (timed-out ones included) past which calls fail at once. */
  inFlightMax?: number;
}

const defaultInFlightMax = 1_000;
/** After a failed check of a connection's mark, the next try on the same connection. */
const markCheckRetryMs = 1_000;
/** A restore's hold on its server: renewed by each step, so another instance takes over within this of a restorer's death. */
const restoreLeaseMs = 10_000;
/** Checks of one connection read the mark again when another instance changed it meanwhile, up to this many times. */
const markRereadsMax = 3;

/** What the check of a connection found of the server's mark. */
export interface ServerMark {
  /** The server keeps its mark: its lock scripts run. */
  readonly marked: boolean;
  /** It lost its mark after restarting without appendfsync always: it is not a new server. */
  readonly suspect: boolean;
  /** The server process's run id (INFO server): a mark records the one it was given under. */
  readonly runId: string;
  /** The mark's value as read (or written since); undefined without one. */
  readonly value: string | undefined;
}

/** One lock key as read from a server for a restore. */
export interface RestorableKey {
  readonly key: string;
  readonly kind: RestoredKeyKind;
  readonly value: string;
  /** For a holder, the lease it had left there, ms. */
  readonly leaseMs?: number;
}

/** A script, the operation it is (named in errors) and its SHA-1, the name EVALSHA runs it by. */
interface LockScript {
  readonly operation: string;
  readonly lua: string;
  readonly sha: string;
}

const scriptOf = (operation: string, lua: string): LockScript => ({
  operation,
  lua,
  sha: createHash('sha1').update(lua).digest('hex'),
});

/** Each takes the seven keys of lockKeys, then its ARGV (see lock-scripts.ts). */
const scripts = {
  inspect: scriptOf('inspect', inspectScript),
  grant: scriptOf('grant', grantScript),
  release: scriptOf('release', releaseScript),
  refresh: scriptOf('refresh', refreshScript),
  enqueue: scriptOf('enqueue', enqueueScript),
  leave: scriptOf('leave', leaveScript),
} as const;

/**
 * A lock's keys, computed once for the calls of one operation: a quorum
 * calls every server in turn with the same name, and the six strings per
 * call were among the largest allocations of a distinct-lock run.
 */
let lastKeys: { name: string; keys: LockKeys } | undefined;
function keysOf(name: string): LockKeys {
  if (lastKeys?.name !== name) lastKeys = { name, keys: lockKeys(name) };
  return lastKeys.keys;
}

export class RedisLockServer implements LockServer {
  readonly id: string;
  private readonly redis: Redis;
  /** Every call goes out in its turn's batch: one write per connection and turn. */
  private readonly batches: TurnBatches;
  /** A load of the scripts under way: calls that find them missing all wait on one. */
  private loadingScripts: Promise<void> | undefined;
  private readonly inFlightMax: number;
  private inFlight = 0;
  private lastConnectionError: string | undefined;
  /** Counts the connections made: a restore writes only on the connection it checked. */
  private connection = 0;
  /** The mark as checked on this connection; undefined until the check answers, and while not connected. */
  private mark: ServerMark | undefined;
  private readonly markListeners = new Set<(mark: ServerMark | undefined) => void>();
  private readonly checkTimeoutMs: number;
  private markCheckRetry: NodeJS.Timeout | undefined;
  /** The check's commands while the server has not answered them, timed out or not. */
  private unansweredCheck: Promise<unknown> | undefined;

  constructor(options: RedisLockServerOptions) {
    this.id = options.id ?? `${options.host}:${options.port}`;
    this.checkTimeoutMs = options.connectTimeoutMs ?? defaultConnectTimeoutMs;
    this.inFlightMax = options.inFlightMax ?? defaultInFlightMax;
    const redis = new Redis({
      ...redisConnectionOptions({
        host: options.host,
        port: options.port,
        connectTimeoutMs: options.connectTimeoutMs ?? defaultConnectTimeoutMs,
        reconnectDelayMsMax: options.reconnectDelayMsMax ?? defaultReconnectDelayMsMax,
      }),
    });
    redis.on('error', (error: Error) => {
      this.lastConnectionError = error.message;
    });
    redis.on('ready', () => {
      this.lastConnectionError = undefined;
      // First on the new connection: calls go after it.
      this.loadScripts();
      this.connection += 1;
      this.checkMark(this.connection);
    });
    redis.on('close', () => {
      clearTimeout(this.markCheckRetry);
      this.unansweredCheck = undefined;
      this.setMark(undefined);
    });
    this.redis = redis;
    this.batches = new TurnBatches(redis);
  }

  async inspect(name: string, timeoutMs: number): Promise<ServerLockState> {
    requireName(name);
    return this.call(scripts.inspect, name, [], timeoutMs, parseInspectReply);
  }

  async grant(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    ttlMs: number,
    timeoutMs: number,
    waiterId?: string,
  ): Promise<ServerGrant> {
    requireName(name);
    requireOwner(owner);
    requireToken(token);
    requireAttempt(attempt);
    requireTtl(ttlMs);
    if (waiterId !== undefined) requireWaiterId(waiterId);
    return this.call(
      scripts.grant,
      name,
      [
        token.toString(),
        encodeHolder({ token, attempt, owner }),
        ttlMs,
        // No waiter id is empty, so the script reads '' as none.
        waiterId ?? '',
      ],
      timeoutMs,
      parseGrantReply,
    );
  }

  async release(
    name: string,
    owner: string,
    token: bigint,
    timeoutMs: number,
    options: ServerRelease = {},
  ): Promise<boolean> {
    const { attempt, nextToken, releaser } = options;
    requireName(name);
    requireOwner(owner);
    requireToken(token);
    if (attempt !== undefined) requireAttempt(attempt);
    if (nextToken !== undefined) requireToken(nextToken, 'nextToken');
    if (releaser?.waiterId !== undefined) requireWaiterId(releaser.waiterId);
    if (releaser?.claimAttempt !== undefined) requireAttempt(releaser.claimAttempt);
    return this.call(
      scripts.release,
      name,
      [
        token.toString(),
        owner,
        // Attempts and waiter ids are never empty, so the script reads '' as none (any attempt, no next token).
        attempt ?? '',
        releasedChannel(name),
        nextToken?.toString() ?? '',
        releaser?.waiterId ?? '',
        releaser?.claimAttempt ?? '',
        releaser ? '1' : '',
      ],
      timeoutMs,
      parseDoneReply,
    );
  }

  async refresh(
    name: string,
    owner: string,
    token: bigint,
    ttlMs: number,
    timeoutMs: number,
  ): Promise<string | undefined> {
    requireName(name);
    requireOwner(owner);
    requireToken(token);
    requireTtl(ttlMs);
    return this.call(scripts.refresh, name, [token.toString(), owner, ttlMs], timeoutMs, parseRefreshReply);
  }

  async enqueue(
    name: string,
    waiterId: string,
    ticket: bigint,
    leaseMs: number,
    timeoutMs: number,
    { claim, join = false }: ServerEnqueue = {},
  ): Promise<ServerEnqueued> {
    requireName(name);
    requireWaiterId(waiterId);
    requireTicket(ticket);
    requireWaiterLeaseMs(leaseMs);
    if (claim) {
      requireOwner(claim.owner);
      requireAttempt(claim.attempt);
      requireTtl(claim.ttlMs);
    }
    return this.call(
      scripts.enqueue,
      name,
      [waiterId, ticket.toString(), leaseMs, claim ? encodeClaim(claim) : '', claim?.attempt ?? '', join ? '1' : ''],
      timeoutMs,
      parseEnqueueReply,
    );
  }

  async leave(name: string, waiterId: string, timeoutMs: number, claimAttempt?: string): Promise<boolean> {
    requireName(name);
    requireWaiterId(waiterId);
    if (claimAttempt !== undefined) requireAttempt(claimAttempt);
    return this.call(
      scripts.leave,
      name,
      [waiterId, releasedChannel(name), claimAttempt ?? ''],
      timeoutMs,
      parseDoneReply,
    );
  }

  /** Resolves once connected and the server's mark checked (calls fail at once until then); UnavailableError after timeoutMs. */
  async waitUntilConnected(timeoutMs: number): Promise<void> {
    requireTimeout(timeoutMs);
    if (this.redis.status === 'ready' && this.mark !== undefined) return;
    if (this.redis.status === 'end') throw this.unavailable('closed');
    await new Promise<void>((resolve, reject) => {
      const onMark = (mark: ServerMark | undefined) => {
        if (mark === undefined) return;
        clearTimeout(timer);
        this.markListeners.delete(onMark);
        resolve();
      };
      const timer = setTimeout(() => {
        this.markListeners.delete(onMark);
        const what = this.redis.status === 'ready' ? 'connected, but its mark not checked' : 'not connected';
        reject(this.unavailable(`${what} within ${timeoutMs} ms${this.connectionProblem()}`));
      }, timeoutMs);
      this.markListeners.add(onMark);
    });
  }

  /** The mark as checked on the current connection; undefined while not connected or not checked yet. */
  get checkedMark(): ServerMark | undefined {
    return this.mark;
  }

  /** Calls listener with every change of checkedMark until the returned function is called. */
  onMarkChange(listener: (mark: ServerMark | undefined) => void): () => void {
    this.markListeners.add(listener);
    return () => this.markListeners.delete(listener);
  }

  /** The current connection's number; a new one counts up. Restores pass it back so they never write across a reconnection. */
  get connectionNumber(): number {
    return this.connection;
  }

  /** One step of a SCAN over every lock key, on connection only (a cursor means nothing to another process); cursor '0' starts and, when answered, ends. */
  async scanLockKeys(
    cursor: string,
    connection: number,
    timeoutMs: number,
  ): Promise<{ cursor: string; keys: string[] }> {
    const [next, keys] = await this.direct(
      'scan',
      timeoutMs,
      () => this.redis.scan(cursor, 'MATCH', lockKeysPattern, 'COUNT', restoreBatchKeys),
      connection,
    );
    return { cursor: next, keys };
  }

  /**
   * The counters and holders among keys, as this server has them, on
   * connection only; queues, their leases and claims are left out (waiters
   * renew them), and so is a key of another type (no script can use it).
   */
  async readRestorable(keys: readonly string[], connection: number, timeoutMs: number): Promise<RestorableKey[]> {
    const wanted = keys.flatMap((key) => {
      const kind = restoredKindOf(key);
      return kind === undefined ? [] : [{ key, kind }];
    });
    if (wanted.length === 0) return [];
    const replies = await this.direct(
      'read for a restore',
      timeoutMs,
      async () => {
        const pipeline = this.redis.pipeline();
        for (const { key, kind } of wanted) {
          pipeline.get(key);
          if (kind === 'holder') pipeline.pttl(key);
        }
        return (await pipeline.exec()) ?? [];
      },
      connection,
    );
    const restorable: RestorableKey[] = [];
    let reply = 0;
    const next = (): unknown => {
      const [error, value] = replies[reply++] ?? [new Error('no reply')];
      if (error) throw error;
      return value;
    };
    for (const { key, kind } of wanted) {
      let value: unknown;
      try {
        value = next();
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('WRONGTYPE'))) throw error;
        value = null;
      }
      const leaseMs = kind === 'holder' ? next() : undefined;
      if (value === null) continue;
      if (typeof value !== 'string') throw this.unavailable(`read for a restore: ${key} is not a string`);
      if (kind === 'counter') {
        // Fences go up to tokenMax, tickets (below it) up to ticketMax.
        if (parseToken(value) === undefined) {
          throw this.unavailable(`read for a restore: ${key} is not a counter`);
        }
        restorable.push({ key, kind, value });
      } else if (typeof leaseMs === 'number' && leaseMs > 0) {
        // A holder without a TTL (-1) was not written by a grant; one gone since (-2) holds nothing.
        if (decodeHolder(value) === undefined) throw this.unavailable(`read for a restore: ${key} is not a holder`);
        restorable.push({ key, kind, value, leaseMs });
      }
    }
    return restorable;
  }

  /**
   * Starts a restore of this server on connection: 'busy' while another
   * instance's restore holds it, 'marked' when it needs none, else the
   * restore's nonce, which every later step passes back.
   */
  async beginRestore(connection: number, timeoutMs: number): Promise<{ nonce: string } | 'busy' | 'marked'> {
    const nonce = randomBytes(12).toString('hex');
    const reply = await this.direct(
      'begin a restore',
      timeoutMs,
      () => this.redis.eval(beginRestoreScript, 2, serverMarkKey, serverRestoringKey, nonce, restoreLeaseMs),
      connection,
    );
    if (reply === 'begun') return { nonce };
    if (reply === 'marked') this.recheckMark();
    return reply === 'busy' ? 'busy' : 'marked';
  }

  /**
   * Writes keys read from other servers here, for the restore nonce began,
   * on connection only: counters raised to them, holders with their lease.
   * 'marked' when the server has its mark (restored by another instance:
   * nothing written); UnavailableError when the restore was lost (the
   * server emptied, or the restore's lease ran out).
   */
  async restore(
    keys: readonly RestorableKey[],
    nonce: string,
    connection: number,
    timeoutMs: number,
  ): Promise<'marked' | 'written'> {
    const reply = await this.direct(
      'restore',
      timeoutMs,
      () =>
        this.redis.eval(
          restoreScript,
          keys.length + 2,
          serverMarkKey,
          serverRestoringKey,
          ...keys.map(({ key }) => key),
          nonce,
          restoreLeaseMs,
          ...keys.flatMap(({ kind, value, leaseMs }) => [kind, value, leaseMs ?? '']),
        ),
      connection,
    );
    if (reply === 'lost') throw this.unavailable(`restore: ${lostRestoreProblem}`);
    if (reply !== 'marked') return 'written';
    // Restored and marked by another instance: take the mark in.
    this.recheckMark();
    return 'marked';
  }

  /** Marks the server restored by the restore nonce began, on connection only: its lock scripts run again. */
  async markRestored(nonce: string, connection: number, timeoutMs: number): Promise<void> {
    const runId = this.mark?.runId ?? '';
    const marked = await this.direct(
      'mark',
      timeoutMs,
      () => this.redis.eval(markRestoredScript, 3, serverMarkKey, serverSuspectKey, serverRestoringKey, runId, nonce),
      connection,
    );
    if (marked !== 1) throw this.unavailable(`mark: ${lostRestoreProblem}`);
    this.setMark({ marked: true, suspect: false, runId, value: runId });
  }

  /** Marks the server as one of a new cluster (on connection only), unless it has a mark or is suspect; true when marked now. */
  async markNew(connection: number, timeoutMs: number): Promise<boolean> {
    const runId = this.mark?.runId ?? '';
    const marked = await this.direct(
      'mark',
      timeoutMs,
      () => this.redis.eval(markNewScript, 2, serverMarkKey, serverSuspectKey, runId),
      connection,
    );
    if (marked === 1) this.setMark({ marked: true, suspect: false, runId, value: runId });
    // Marked by another instance meanwhile, or suspect: the check says which.
    else this.recheckMark();
    return marked === 1;
  }

  /** Checks the mark again on the current connection (another instance may have marked the server, or taken its mark). */
  recheckMark(): void {
    if (this.redis.status === 'ready') this.checkMark(this.connection);
  }

  /** The mark's value now (undefined without one), on connection only: a restore's sources are asked again once read. */
  async markValue(connection: number, timeoutMs: number): Promise<string | undefined> {
    const value = await this.direct('read the mark', timeoutMs, () => this.redis.get(serverMarkKey), connection);
    return value ?? undefined;
  }

  /** Closes the connection and stops reconnecting; calls fail from now on. */
  async close(): Promise<void> {
    clearTimeout(this.markCheckRetry);
    if (this.redis.status === 'end') return;
    // Between reconnection attempts there is no socket, so no 'end' comes.
    const ended = this.redis.status === 'reconnecting' ? undefined : once(this.redis, 'end');
    this.redis.disconnect();
    await ended;
  }

  /** Sends every script (SCRIPT LOAD), unless a load is under way; a failure leaves calls answering NOSCRIPT. */
  private loadScripts(): void {
    this.loadingScripts ??= Promise.all(Object.values(scripts).map(({ lua }) => this.redis.script('LOAD', lua)))
      .then(
        () => undefined,
        (error: unknown) => {
          this.lastConnectionError = `loading the scripts: ${error instanceof Error ? error.message : String(error)}`;
        },
      )
      .finally(() => {
        this.loadingScripts = undefined;
      });
  }

  /** EVALSHA of script on name's keys and args, in this turn's batch, answered within timeoutMs. */
  private async call<T>(
    script: LockScript,
    name: string,
    args: readonly (string | number)[],
    timeoutMs: number,
    parse: (reply: unknown) => T,
  ): Promise<T> {
    const { operation } = script;
    requireTimeout(timeoutMs);
    if (this.redis.status !== 'ready') {
      throw this.unavailable(`${operation}: not connected (${this.redis.status})${this.connectionProblem()}`);
    }
    if (this.mark === undefined) throw this.unavailable(`${operation}: its mark is not checked yet on this connection`);
    if (!this.mark.marked) throw this.unavailable(`${operation}: ${unmarkedProblem}`);
    if (this.inFlight >= this.inFlightMax) {
      throw this.unavailable(`${operation}: ${this.inFlight} calls still await an answer`);
    }
    const keys = keysOf(name);
    this.inFlight += 1;
    // One promise and one timer per call, not a race of two (every lock operation makes one call per server).
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(this.unavailable(`${operation}: no answer within ${timeoutMs} ms (it may still take effect)`)),
        timeoutMs,
      );
      this.batches
        .send((batch) => batch.evalsha(script.sha, keys.length, ...keys, ...args))
        .then(
          (reply) => {
            this.inFlight -= 1;
            clearTimeout(timer);
            try {
              resolve(parse(reply));
            } catch (error) {
              reject(this.failure(operation, error));
            }
          },
          (error: unknown) => {
            this.inFlight -= 1;
            clearTimeout(timer);
            reject(this.failure(operation, error));
          },
        );
    });
  }

  /** What a failed call rejects with: a Bulwark error as it is, anything else as the server being unavailable. */
  private failure(operation: string, error: unknown): BulwarkError {
    if (error instanceof BulwarkError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith(unmarkedErrorPrefix)) {
      // Another instance took the mark away (a restart without appendfsync always), or the data went (FLUSHALL).
      if (this.mark?.marked) this.setMark({ ...this.mark, marked: false, value: undefined });
      return this.unavailable(`${operation}: ${unmarkedProblem}`);
    }
    if (message.startsWith('NOSCRIPT')) {
      this.loadScripts();
      return this.unavailable(`${operation}: the server had lost its scripts (nothing ran); loading them again`);
    }
    return this.unavailable(`${operation}: ${message}`);
  }

  /**
   * Reads the server's mark, run id and durability on this connection; takes
   * the mark away from a server that restarted without appendfsync always
   * (its mark names another run: it may have forgotten its last writes).
   * Retried on the same connection while it fails.
   */
  private checkMark(connection: number): void {
    clearTimeout(this.markCheckRetry);
    // A server that hangs gets one check at a time, not one more each retry.
    if (this.unansweredCheck) {
      this.markCheckRetry = setTimeout(() => this.checkMark(connection), markCheckRetryMs);
      return;
    }
    this.readMark(connection)
      .then((mark) => {
        if (connection === this.connection) this.setMark(mark);
      })
      .catch((error: unknown) => {
        if (connection !== this.connection || this.redis.status !== 'ready') return;
        this.lastConnectionError = `checking the mark: ${error instanceof Error ? error.message : String(error)}`;
        this.markCheckRetry = setTimeout(() => this.checkMark(connection), markCheckRetryMs);
      });
  }

  private async readMark(connection: number, rereads = 0): Promise<ServerMark> {
    const replies = await this.direct(
      'check the mark',
      this.checkTimeoutMs,
      () => {
        const sent = this.redis
          .pipeline()
          .get(serverMarkKey)
          .exists(serverSuspectKey)
          .info('server')
          .config('GET', 'appendonly')
          .config('GET', 'appendfsync')
          .exec()
          .then((results) => results ?? []);
        this.unansweredCheck = sent;
        const answered = () => {
          if (this.unansweredCheck === sent) this.unansweredCheck = undefined;
        };
        sent.then(answered, answered);
        return sent;
      },
      connection,
    );
    const [mark, suspect, info, appendonly, appendfsync] = replies.map(([error, value]) => (error ? error : value));
    const runId = typeof info === 'string' ? /^run_id:([0-9a-f]+)\r?$/m.exec(info)?.[1] : undefined;
    if (runId === undefined) throw new Error('INFO server named no run_id');
    if (mark !== null && typeof mark !== 'string') throw new Error(`${serverMarkKey} is not a string`);
    const unmarked = { marked: false, suspect: suspect === 1, runId, value: undefined };
    if (mark === null) return unmarked;
    // Unknown settings (CONFIG refused) count as not durable.
    const durable =
      configValueOf('appendonly', appendonly) === 'yes' && configValueOf('appendfsync', appendfsync) === 'always';
    if (mark !== manualMarkValue && (durable || mark === runId)) {
      return { marked: true, suspect: false, runId, value: mark };
    }
    // A mark set by hand becomes this run's own (so a later restart is noticed); another run's, on a server
    // that may forget its last writes in a crash, is taken away.
    const adopt = mark === manualMarkValue;
    const rewritten = await this.direct(
      adopt ? 'adopt the mark set by hand' : 'take the mark away',
      this.checkTimeoutMs,
      () =>
        this.redis.eval(
          rewriteMarkScript,
          2,
          serverMarkKey,
          serverSuspectKey,
          mark,
          adopt ? 'adopt' : 'suspect',
          runId,
        ),
      connection,
    );
    if (rewritten === 1) {
      return adopt ? { marked: true, suspect: false, runId, value: runId } : { ...unmarked, suspect: true };
    }
    // Not rewritten: another instance changed the mark meanwhile; read again.
    if (rereads >= markRereadsMax) throw new Error('the mark kept changing while checked');
    return this.readMark(connection, rereads + 1);
  }

  private setMark(mark: ServerMark | undefined): void {
    if (mark === this.mark) return;
    this.mark = mark;
    for (const listener of [...this.markListeners]) listener(mark);
  }

  /**
   * A command sent at once, outside the turn batches, answered within
   * timeoutMs; with connection, only while that connection is the current
   * one (checked as it is sent: a command is never queued for a later one).
   */
  private async direct<T>(
    operation: string,
    timeoutMs: number,
    send: () => Promise<T>,
    connection?: number,
  ): Promise<T> {
    if (this.redis.status !== 'ready') throw this.unavailable(`${operation}: not connected (${this.redis.status})`);
    if (connection !== undefined && connection !== this.connection) {
      throw this.unavailable(`${operation}: reconnected since (connection ${this.connection}, not ${connection})`);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        send(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(this.unavailable(`${operation}: no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      throw this.failure(operation, error);
    } finally {
      clearTimeout(timer);
    }
  }

  private connectionProblem(): string {
    return this.lastConnectionError === undefined ? '' : `: ${this.lastConnectionError}`;
  }

  private unavailable(problem: string): UnavailableError {
    return new UnavailableError(`lock server ${this.id}: ${problem}`);
  }
}

/** Keys per SCAN step and per restore script. */
const restoreBatchKeys = 500;

const lostRestoreProblem =
  'the restore was lost (the server was emptied meanwhile, or the restore outlived its lease): it starts again';

const unmarkedProblem =
  'the server has no mark (new, or it lost its data): it counts again once restored from a majority and marked';

function requireName(name: string): void {
  // An empty hash tag ({}) would not keep a lock's keys in one slot.
  if (name.length === 0) throw new InvalidArgumentError('name', 'must not be empty');
  requireUtf8(name, 'name');
}

function requireOwner(owner: string): void {
  requireUtf8(owner, 'owner');
}

/** Redis keeps UTF-8 bytes: a lone surrogate would become U+FFFD there, and two owners or names one. */
function requireUtf8(text: string, field: string): void {
  // String.prototype.isWellFormed (Node 20): no lone surrogate. Not in TypeScript's ES2023 lib.
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed()) {
    throw new InvalidArgumentError(field, 'is not valid Unicode (a lone surrogate)');
  }
}

function requireTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new InvalidArgumentError('ttlMs', 'must be a positive integer');
}

function requireTimeout(timeoutMs: number): void {
  if (!(timeoutMs > 0 && timeoutMs <= timeoutMsMax)) {
    throw new InvalidArgumentError('timeoutMs', `must be above 0 and at most ${timeoutMsMax}`);
  }
}

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
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import {
  defaultConnectTimeoutMs,
  defaultReconnectDelayMsMax,
  redisConnectionOptions,
  timeoutMsMax,
} from './redis-connection';
import { encodeClaim, encodeHolder, lockKeys, releasedChannel, type LockKeys } from './lock-keys';
import {
  parseDoneReply,
  parseEnqueueReply,
  parseGrantReply,
  parseInspectReply,
  parseRefreshReply,
} from './lock-replies';
import { enqueueScript, grantScript, inspectScript, leaveScript, refreshScript, releaseScript } from './lock-scripts';
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

/** Each takes the lock's six keys (lockKeys), then its ARGV (see lock-scripts.ts). */
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

  constructor(options: RedisLockServerOptions) {
    this.id = options.id ?? `${options.host}:${options.port}`;
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

  /** Resolves once connected (calls fail at once until then); UnavailableError after timeoutMs. */
  async waitUntilConnected(timeoutMs: number): Promise<void> {
    requireTimeout(timeoutMs);
    if (this.redis.status === 'ready') return;
    if (this.redis.status === 'end') throw this.unavailable('closed');
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady);
        reject(this.unavailable(`not connected within ${timeoutMs} ms${this.connectionProblem()}`));
      }, timeoutMs);
      this.redis.once('ready', onReady);
    });
  }

  /** Closes the connection and stops reconnecting; calls fail from now on. */
  async close(): Promise<void> {
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
    if (message.startsWith('NOSCRIPT')) {
      this.loadScripts();
      return this.unavailable(`${operation}: the server had lost its scripts (nothing ran); loading them again`);
    }
    return this.unavailable(`${operation}: ${message}`);
  }

  private connectionProblem(): string {
    return this.lastConnectionError === undefined ? '' : `: ${this.lastConnectionError}`;
  }

  private unavailable(problem: string): UnavailableError {
    return new UnavailableError(`lock server ${this.id}: ${problem}`);
  }
}

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

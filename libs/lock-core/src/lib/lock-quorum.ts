// Locks over a majority of independent lock servers, with fencing tokens
// that strictly increase per name.
//
// A grant is two rounds. First every server is asked for the lock's fence
// (the highest token it ever granted) and holder; the lock is free if a
// majority of servers answer that nobody holds it there, and the token is
// one more than the largest fence any of them reports. Then every
// server is asked to grant that token, conditionally: only if nobody holds
// the lock there and its fence is below the token (grant() raises the fence
// and takes the lock in one atomic step). The grant counts only if a
// majority granted it, within the validity time.
//
// Why tokens strictly increase (ARCHITECTURE, Locks):
// - Two grants never share a token: each needs a majority of servers to
//   raise their fence to it, any two majorities share a server, and a
//   server raises its fence to a given value at most once (the raise is
//   conditional on the fence being below it).
// - A grant that completed before another started is seen by it: the
//   first raised the fence on a majority, the second reads a majority, the
//   two share a server, so the second's token is above the first's.
// - A server that restarts keeps its fence (Redis with appendfsync always):
//   forgetting an acknowledged raise is the one thing that breaks this.
// Fences are never lowered, so a failed grant only makes tokens skip.
//
// Validity: the lease on each server starts when that server granted it,
// which is after the first round began; counted on the caller's monotonic
// clock from before the first round, minus a drift allowance for servers'
// clocks running fast, it ends no later than on any server of the
// majority. A grant whose validity is spent before it completes is undone
// and not returned.
import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import type { LockServer, ServerHolder, ServerLockState } from './lock-server';

export interface LockQuorumOptions {
  readonly servers: readonly LockServer[];
  /** The caller's monotonic clock, ms. */
  readonly nowMs: () => number;
  /** How long one call to one server may take. */
  readonly callTimeoutMs: number;
  /** Subtracted from every lease for clocks that run at different rates: a fraction of the TTL, plus a constant. */
  readonly driftFraction?: number;
  readonly driftMinMs?: number;
}

/** A lock held on a majority until validUntilMs (on the caller's clock). */
export interface Grant {
  readonly token: bigint;
  readonly validUntilMs: number;
}

export type AcquireAttempt =
  | { readonly acquired: true; readonly grant: Grant }
  /** Held by someone (the holder with the highest token any server reported), or taken by a concurrent grant. */
  | { readonly acquired: false; readonly holder: ServerHolder | undefined };

/** A lock as a majority of servers sees it. */
export interface LockView {
  /** The highest fence any server reported: the last token granted. */
  readonly fence: bigint;
  /** The holder a majority agrees on, with the least remaining TTL among them; undefined when free. */
  readonly holder: ServerHolder | undefined;
}

export const defaultDriftFraction = 0.01;
export const defaultDriftMinMs = 2;

export class LockQuorum {
  /** Servers that must agree: more than half. */
  readonly majority: number;
  private readonly servers: readonly LockServer[];
  private readonly driftFraction: number;
  private readonly driftMinMs: number;

  constructor(private readonly options: LockQuorumOptions) {
    if (options.servers.length === 0) throw new RangeError('a lock quorum needs at least one server');
    this.servers = options.servers;
    this.majority = this.majorityOf(options.servers.length);
    this.driftFraction = options.driftFraction ?? defaultDriftFraction;
    this.driftMinMs = options.driftMinMs ?? defaultDriftMinMs;
  }

  /** Whether losing one server leaves a majority (N = 1 and 2 do not). */
  get faultTolerant(): boolean {
    return this.servers.length - 1 >= this.majority;
  }

  /** The drift allowance taken off a lease of ttlMs. */
  driftMs(ttlMs: number): number {
    return Math.ceil(ttlMs * this.driftFraction) + this.driftMinMs;
  }

  /**
   * One attempt to take name for owner for ttlMs, not waiting for a holder.
   * UnavailableError when fewer than a majority of servers answer.
   */
  async tryAcquire(name: string, owner: string, ttlMs: number): Promise<AcquireAttempt> {
    const startMs = this.options.nowMs();
    const states = await this.everyServer((server, timeoutMs) => server.inspect(name, timeoutMs));
    const answered = states.filter(isDefined);
    this.requireMajority(answered.length, 'read the lock');
    const free = answered.filter((state) => state.holder === undefined);
    if (free.length < this.majority) return { acquired: false, holder: newestHolder(answered) };
    const token = this.tokenAfter(answered);
    const grants = await this.everyServer((server, timeoutMs) => server.grant(name, owner, token, ttlMs, timeoutMs));
    const granted = grants.filter((grant) => grant?.outcome === 'granted').length;
    const validUntilMs = this.validUntilMs(startMs, ttlMs);
    if (granted >= this.majority && validUntilMs > this.options.nowMs()) {
      return { acquired: true, grant: { token, validUntilMs } };
    }
    // Undo it everywhere it may have been taken (a timed-out grant may have been applied); the fences stay raised.
    await this.everyServer((server, timeoutMs) => server.release(name, owner, token, timeoutMs));
    this.requireMajority(grants.filter(isDefined).length, 'take the lock');
    const holders = grants.flatMap((grant) => (grant?.outcome === 'held' ? [grant.holder] : []));
    return { acquired: false, holder: holders.length > 0 ? highestToken(holders) : undefined };
  }

  /**
   * Extends owner's lease under token to ttlMs from now. FailedPreconditionError
   * naming token when a majority no longer holds it for owner (its lease
   * ran out, or another holder took over).
   */
  async refresh(name: string, owner: string, token: bigint, ttlMs: number): Promise<Grant> {
    const startMs = this.options.nowMs();
    const refreshed = await this.everyServer((server, timeoutMs) =>
      server.refresh(name, owner, token, ttlMs, timeoutMs),
    );
    this.requireMajority(refreshed.filter(isDefined).length, 'refresh the lock');
    const validUntilMs = this.validUntilMs(startMs, ttlMs);
    if (refreshed.filter((done) => done === true).length >= this.majority && validUntilMs > this.options.nowMs()) {
      return { token, validUntilMs };
    }
    throw new FailedPreconditionError(
      'token',
      `owner ${JSON.stringify(owner)} no longer holds lock ${JSON.stringify(name)} under token ${token}`,
    );
  }

  /**
   * Frees name if owner holds it under token. FailedPreconditionError naming
   * token when a majority did not hold it for owner (it is freed wherever
   * it still was, all the same).
   */
  async release(name: string, owner: string, token: bigint): Promise<void> {
    const released = await this.everyServer((server, timeoutMs) => server.release(name, owner, token, timeoutMs));
    this.requireMajority(released.filter(isDefined).length, 'release the lock');
    if (released.filter((done) => done === true).length >= this.majority) return;
    throw new FailedPreconditionError(
      'token',
      `owner ${JSON.stringify(owner)} does not hold lock ${JSON.stringify(name)} under token ${token}`,
    );
  }

  async inspect(name: string): Promise<LockView> {
    const states = await this.everyServer((server, timeoutMs) => server.inspect(name, timeoutMs));
    const answered = states.filter(isDefined);
    this.requireMajority(answered.length, 'read the lock');
    const fence = answered.reduce((highest, state) => (state.fence > highest ? state.fence : highest), 0n);
    return { fence, holder: majorityHolder(answered, this.majority) };
  }

  /** More than half of count. */
  protected majorityOf(count: number): number {
    return Math.floor(count / 2) + 1;
  }

  /** One more than the highest fence the servers read report. */
  protected tokenAfter(states: readonly ServerLockState[]): bigint {
    return states.reduce((highest, state) => (state.fence > highest ? state.fence : highest), 0n) + 1n;
  }

  /** The end of a lease of ttlMs taken or extended by calls that began at startMs, on this caller's clock. */
  protected validUntilMs(startMs: number, ttlMs: number): number {
    return startMs + ttlMs - this.driftMs(ttlMs);
  }

  /** Calls every server at once; a server that fails or times out answers undefined. */
  private everyServer<T>(call: (server: LockServer, timeoutMs: number) => Promise<T>): Promise<(T | undefined)[]> {
    const { callTimeoutMs } = this.options;
    return Promise.all(this.servers.map((server) => call(server, callTimeoutMs).catch(() => undefined)));
  }

  private requireMajority(answered: number, doing: string): void {
    if (answered >= this.majority) return;
    throw new UnavailableError(
      `only ${answered} of ${this.servers.length} lock servers answered; ${this.majority} are needed to ${doing}`,
    );
  }
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

function highestToken(holders: readonly ServerHolder[]): ServerHolder {
  return holders.reduce((best, holder) => (holder.token > best.token ? holder : best));
}

function newestHolder(states: readonly ServerLockState[]): ServerHolder | undefined {
  const holders = states.flatMap((state) => (state.holder ? [state.holder] : []));
  return holders.length > 0 ? highestToken(holders) : undefined;
}

/** The holder at least a majority report, under the same owner and token; the least remaining TTL among them. */
function majorityHolder(states: readonly ServerLockState[], majority: number): ServerHolder | undefined {
  const byGrant = new Map<string, ServerHolder[]>();
  for (const { holder } of states) {
    if (!holder) continue;
    const key = `${holder.token}\u0000${holder.owner}`;
    const same = byGrant.get(key);
    if (same) same.push(holder);
    else byGrant.set(key, [holder]);
  }
  for (const holders of byGrant.values()) {
    if (holders.length < majority) continue;
    return holders.reduce((least, holder) => (holder.remainingTtlMs < least.remainingTtlMs ? holder : least));
  }
  return undefined;
}

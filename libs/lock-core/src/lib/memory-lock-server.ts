// A lock server in memory, on an injected clock: the `memory` backend of a
// single lock-service instance (no fault tolerance: it forgets everything
// when the process ends), and the servers of the quorum's tests and
// simulation. Same semantics as the Redis scripts, call for call.
import { InvalidArgumentError, UnavailableError } from '@bulwark/errors';
import type {
  LockServer,
  ServerClaim,
  ServerEnqueue,
  ServerEnqueued,
  ServerGrant,
  ServerHolder,
  ServerLockState,
  ServerRelease,
} from './lock-server';
import { requireAttempt } from './lock-attempts';
import { requireToken } from './lock-tokens';
import { compareWaiters, requireTicket, requireWaiterId, requireWaiterLeaseMs } from './lock-waiters';

export interface Held {
  readonly owner: string;
  readonly token: bigint;
  readonly attempt: string;
  readonly expiresAtMs: number;
}

export interface QueueEntry {
  readonly ticket: bigint;
  readonly leaseEndsAtMs: number;
  readonly claim: ServerClaim | undefined;
}

/**
 * What a release of a lock publishes, as Redis does on its released
 * channel: `<token>:<attempt>`, then `:<token>:<attempt>` of the claim it
 * handed the lock to, if any; `handed:<token>:<attempt>` when the lock was
 * free there and only handed over; or 'left'.
 */
export type ReleasedListener = (name: string, message: string) => void;

export class MemoryLockServer implements LockServer {
  protected readonly fences = new Map<string, bigint>();
  protected readonly tickets = new Map<string, bigint>();
  protected readonly holders = new Map<string, Held>();
  /** Per name, waiterId -> entry; a name without waiters has no map. */
  protected readonly queues = new Map<string, Map<string, QueueEntry>>();
  /** While false every call fails, as a server that is down. */
  up = true;
  /**
   * Told of every successful release (message: the released holder's
   * token and attempt, `<token>:<attempt>`, and the handover's, if any,
   * `<token>:<attempt>:<token>:<attempt>`), of every handover of a lock
   * that was free (`handed:<token>:<attempt>`) and of every
   * leave that took out the first waiter while nobody holds the lock
   * (message: 'left'), as the Redis scripts publish them.
   */
  onReleased: ReleasedListener | undefined;

  constructor(
    readonly id: string,
    protected readonly nowMs: () => number,
  ) {}

  async inspect(name: string): Promise<ServerLockState> {
    this.requireUp();
    const queue = this.liveQueue(name);
    return {
      fence: this.fences.get(name) ?? 0n,
      ticket: this.tickets.get(name) ?? 0n,
      holder: this.holderStateOf(name),
      queue: { head: queue && headOf(queue), length: queue?.size ?? 0 },
    };
  }

  async grant(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    ttlMs: number,
    _timeoutMs?: number,
    waiterId?: string,
  ): Promise<ServerGrant> {
    requireAttempt(attempt);
    if (waiterId !== undefined) requireWaiterId(waiterId);
    this.requireUp();
    const queue = this.liveQueue(name);
    const fence = this.fences.get(name) ?? 0n;
    const holder = this.holderStateOf(name);
    if (holder) return { outcome: 'held', fence, holder };
    const head = this.aheadOf(queue, waiterId);
    if (head !== undefined) return { outcome: 'queued', fence, head };
    if (fence >= token) return { outcome: 'stale', fence };
    this.fences.set(name, token);
    this.holders.set(name, { owner, token, attempt, expiresAtMs: this.nowMs() + ttlMs });
    if (waiterId !== undefined) this.removeWaiter(name, waiterId);
    return { outcome: 'granted' };
  }

  async release(
    name: string,
    owner: string,
    token: bigint,
    _timeoutMs?: number,
    options: ServerRelease = {},
  ): Promise<boolean> {
    const { attempt, nextToken, releaser } = options;
    if (attempt !== undefined) requireAttempt(attempt);
    if (nextToken !== undefined) requireToken(nextToken, 'nextToken');
    if (releaser?.waiterId !== undefined) requireWaiterId(releaser.waiterId);
    if (releaser?.claimAttempt !== undefined) requireAttempt(releaser.claimAttempt);
    this.requireUp();
    const held = this.holderOf(name);
    const mine =
      held !== undefined &&
      held.owner === owner &&
      held.token === token &&
      (attempt === undefined || held.attempt === attempt);
    // A handover to the releaser's claim under another token is its own too.
    const ownClaim = releaser?.claimAttempt !== undefined && held?.attempt === releaser.claimAttempt;
    const freed = mine || ownClaim ? held : undefined;
    const queue = this.liveQueue(name);
    const waiterId = releaser?.waiterId;
    const leftHead = waiterId !== undefined && queue !== undefined && headOf(queue) === waiterId;
    if (waiterId !== undefined && queue?.has(waiterId)) this.removeWaiter(name, waiterId);
    if (held && !freed) return false;
    if (freed) this.holders.delete(name);
    // A lock free here already goes to the head too, for a vouched release only: the server falls back in step.
    const handing = nextToken !== undefined && (freed !== undefined || releaser !== undefined);
    const handed = handing ? this.handOver(name, nextToken) : undefined;
    const released = freed ? `${freed.token}:${freed.attempt}` : 'handed';
    if (handed) this.onReleased?.(name, `${released}:${handed.token}:${handed.attempt}`);
    else if (freed) this.onReleased?.(name, released);
    else if (leftHead) this.onReleased?.(name, 'left');
    return mine;
  }

  /**
   * Hands a free lock to the head of its queue, under nextToken, if the
   * head left a claim and the fence is below nextToken; the new holder.
   */
  protected handOver(name: string, nextToken: bigint): Held | undefined {
    const queue = this.liveQueue(name);
    const head = queue && headOf(queue);
    const claim = head === undefined ? undefined : queue?.get(head)?.claim;
    if (head === undefined || !claim || (this.fences.get(name) ?? 0n) >= nextToken) return undefined;
    const holder = {
      owner: claim.owner,
      token: nextToken,
      attempt: claim.attempt,
      expiresAtMs: this.nowMs() + claim.ttlMs,
    };
    this.fences.set(name, nextToken);
    this.holders.set(name, holder);
    this.removeWaiter(name, head);
    return holder;
  }

  async refresh(name: string, owner: string, token: bigint, ttlMs: number): Promise<string | undefined> {
    this.requireUp();
    const held = this.holderOf(name);
    if (!held || held.owner !== owner || held.token !== token) return undefined;
    this.holders.set(name, { ...held, expiresAtMs: this.nowMs() + ttlMs });
    return held.attempt;
  }

  async enqueue(
    name: string,
    waiterId: string,
    ticket: bigint,
    leaseMs: number,
    _timeoutMs?: number,
    { claim, join = false }: ServerEnqueue = {},
  ): Promise<ServerEnqueued> {
    requireWaiterId(waiterId);
    requireTicket(ticket);
    requireWaiterLeaseMs(leaseMs);
    if (claim) requireClaim(claim);
    this.requireUp();
    const held = this.holderOf(name);
    // Renewing a place the lock was handed over from would queue the waiter behind its own grant.
    if (claim && held?.attempt === claim.attempt) return { outcome: 'handed', token: held.token };
    const counter = this.tickets.get(name) ?? 0n;
    if (join && !this.takesJoin(ticket, counter)) return { outcome: 'stale', counter };
    const queue = this.liveQueue(name) ?? new Map<string, QueueEntry>();
    this.queues.set(name, queue);
    queue.set(waiterId, { ticket, leaseEndsAtMs: this.nowMs() + leaseMs, claim });
    if (ticket > counter) this.tickets.set(name, ticket);
    return { outcome: 'queued', ticket, head: headOf(queue) as string, held: held !== undefined };
  }

  /** Whether a join with ticket may queue where the ticket counter is counter: only above it. */
  protected takesJoin(ticket: bigint, counter: bigint): boolean {
    return ticket > counter;
  }

  async leave(name: string, waiterId: string, _timeoutMs?: number, claimAttempt?: string): Promise<boolean> {
    requireWaiterId(waiterId);
    if (claimAttempt !== undefined) requireAttempt(claimAttempt);
    this.requireUp();
    const queue = this.liveQueue(name);
    const queued = queue?.has(waiterId) === true;
    const wasHead = queue !== undefined && headOf(queue) === waiterId;
    if (queued) this.removeWaiter(name, waiterId);
    const held = this.holderOf(name);
    if (claimAttempt !== undefined && held?.attempt === claimAttempt) {
      this.holders.delete(name);
      this.onReleased?.(name, `${held.token}:${held.attempt}`);
      return true;
    }
    // The next waiter may take the lock now: tell it, as a release would.
    if (wasHead && !held) this.onReleased?.(name, 'left');
    return queued;
  }

  /** The holder whose lease has not run out on this server's clock. */
  protected holderOf(name: string): Held | undefined {
    const held = this.holders.get(name);
    if (held && held.expiresAtMs <= this.nowMs()) {
      this.holders.delete(name);
      return undefined;
    }
    return held;
  }

  /** The queue of name without the entries whose lease has run out on this server's clock; undefined when empty. */
  protected liveQueue(name: string): Map<string, QueueEntry> | undefined {
    const queue = this.queues.get(name);
    if (!queue) return undefined;
    const nowMs = this.nowMs();
    for (const [waiterId, entry] of queue) if (entry.leaseEndsAtMs <= nowMs) queue.delete(waiterId);
    if (queue.size > 0) return queue;
    this.queues.delete(name);
    return undefined;
  }

  /** The head of the queue when it is not waiterId (a grant must wait for it), else undefined. */
  protected aheadOf(
    queue: ReadonlyMap<string, QueueEntry> | undefined,
    waiterId: string | undefined,
  ): string | undefined {
    const head = queue && headOf(queue);
    return head === waiterId ? undefined : head;
  }

  private removeWaiter(name: string, waiterId: string): void {
    const queue = this.queues.get(name);
    if (!queue) return;
    queue.delete(waiterId);
    if (queue.size === 0) this.queues.delete(name);
  }

  private holderStateOf(name: string): ServerHolder | undefined {
    const held = this.holderOf(name);
    return (
      held && {
        owner: held.owner,
        token: held.token,
        attempt: held.attempt,
        remainingTtlMs: held.expiresAtMs - this.nowMs(),
      }
    );
  }

  private requireUp(): void {
    if (!this.up) throw new UnavailableError(`lock server ${this.id} is down`);
  }
}

function requireClaim(claim: ServerClaim): void {
  requireAttempt(claim.attempt);
  if (!Number.isSafeInteger(claim.ttlMs) || claim.ttlMs <= 0) {
    throw new InvalidArgumentError('ttlMs', 'must be a positive integer');
  }
}

/** The first waiter by (ticket, waiterId); a linear scan, as queues are short (one entry per live waiter). */
function headOf(queue: ReadonlyMap<string, QueueEntry>): string | undefined {
  let head: { ticket: bigint; waiterId: string } | undefined;
  for (const [waiterId, { ticket }] of queue) {
    const entry = { ticket, waiterId };
    if (!head || compareWaiters(entry, head) < 0) head = entry;
  }
  return head?.waiterId;
}

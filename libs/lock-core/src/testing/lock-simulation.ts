// A seeded simulation of lock clients taking one hot lock through
// LockQuorum over in-memory servers, in simulated time: every call to a
// server is a request that arrives after a random delay (or is lost), is
// applied atomically there, and an answer that comes back after another
// delay (or is lost, leaving the caller to time out); servers go down and
// come back (keeping what they stored, as Redis with appendfsync always);
// each server's clock runs at its own rate, within the drift allowance.
// Clients come in pairs that share an owner string (one caller's two
// workers), and each client is at home on a quorum instance of its own (a
// lock-service instance, attemptPrefix its name); now and then it tries
// through another client's instance, or hears no answer to a grant and
// tries again at once through another (a retry on another instance).
// Clients hold the lock for a while, sometimes longer than its validity
// (a pause), sometimes refreshing it once, and release it (through any
// instance) or let it expire. A client refused a lock either tries again
// later, or waits in the lock's queue (through the instance that refused
// it) as the lock service does: it enqueues with a claim, renews its lease
// (now and then it pauses past the lease), and renews before any step of
// an attempt or of an undo that could outlast its place (placeLastsThrough,
// the lock service's rule); it takes the lock when a majority of servers
// told of handing it over to its claim, or an enqueue found it so (before
// anything else: an attempt stops at a step whose renewal found it),
// attempts when woken by a release or left (published by the servers,
// delivered late or lost) or by a re-check timer, and leaves when it gives
// up, or when an attempt or a renewal fails (fewer than a majority
// answered), as a waiting Acquire ends then.
//
// Named invariants, checked at the end of a run:
// - unique-tokens: no two grants share a token;
// - later-grant-higher-token: a grant that began after another was
//   returned has a higher token;
// - mutual-exclusion: while a grant is valid (on the true clock) no other
//   grant is;
// - fencing-order: of two grants whose use did not overlap, the later one
//   has the higher token;
// - later-enqueue-higher-ticket: an enqueue that began after another
//   returned has a higher ticket;
// - arrival-order: if waiter A's enqueue returned before waiter B's began
//   and both were granted from the queue, A's grant came first, unless A's
//   place lapsed before B's grant;
// - no-barging: a grant without a waiter that began after waiter A's
//   enqueue returned comes after A's grant, unless A's place lapsed first;
// - refresh-same-attempt: a refresh begun within a grant's validity that
//   came back names the grant's own attempt;
// - place-renewed: while a waiter waits (not stalled), the first enqueue it
//   sends to a server after the one that made its entry there goes out
//   while that entry's lease outlasts a call timeout and the rule's margin
//   (placeLastsThrough), checked at that send or when the lease ends first;
// - handover-taken: a handover a renewal found is what the wait ends with
//   (used, or released when spent): no step of an attempt goes on past it.
// A's place lapses on a server when time ends it there: the lease of its
// entry ran out, or the lease of a grant of A's that was undone ran out
// before A was queued there again. The servers record it as it happens.
// Mutations plant the bugs the invariants exist for; a run with one must
// fail (lock-simulation.spec.ts).
import { UnavailableError } from '@bulwark/errors';
import { seededUniform } from '@bulwark/random';
import { LockQuorum, stepRoundsMax, type LockQuorumOptions } from '../lib/lock-quorum';
import type {
  LockServer,
  ServerEnqueue,
  ServerEnqueued,
  ServerGrant,
  ServerLockState,
  ServerQueue,
  ServerRelease,
} from '../lib/lock-server';
import { MemoryLockServer, type Held, type QueueEntry } from '../lib/memory-lock-server';
import { placeLastsThrough } from '../lib/place-renewals';

export type LockMutation =
  /** A server grants over a fence at or above the token. */
  | 'grant-ignores-fence'
  /** A restarted server has forgotten its fences (no appendfsync always). */
  | 'forget-fences-on-restart'
  /** Half the servers count as a majority. */
  | 'half-is-majority'
  /** Validity counted from when the grant completed, not from before it began. */
  | 'validity-from-completion'
  /** Grants go to whoever asks, first in line or not (servers and quorum ignore the queue). */
  | 'grant-ignores-queue'
  /** A caller without a waiter is granted past the waiters queued (servers and quorum ignore the queue for it). */
  | 'grant-without-waiter-ignores-queue'
  /** A server queues a join whose ticket is not above its ticket counter. */
  | 'join-ignores-counter'
  /** An undone grant releases the lock without queueing the waiter again where the grant took it out. */
  | 'undo-forgets-place'
  /** An undone grant releases by owner and token on every server, not its own attempt where it may hold. */
  | 'undo-releases-by-owner'
  /** A release hands the lock over without raising the fence to the new token. */
  | 'handover-skips-fence-raise'
  /** A release with a next token frees the lock and hands it over whoever holds it, not only its releaser. */
  | 'release-hands-over-held-lock'
  /** A handed-over grant's validity is counted from when the waiter heard of it, not from its claim's enqueue. */
  | 'handover-validity-from-news'
  /** An attempt goes on with its step after beforeStep answered false (a renewal found the lock handed over). */
  | 'attempt-ignores-stop'
  /** No renewal before a step: the rule always says the place lasts through it (placeLastsThrough ignored). */
  | 'steps-skip-renewal';

export interface LockSimulationOptions {
  readonly seed: number;
  readonly servers?: number;
  /** Clients (6 by default): the first four share owners in pairs, the others have owners of their own. */
  readonly clients?: number;
  /** Simulated ms the clients run. */
  readonly durationMs?: number;
  /**
   * The share of refused clients that wait in the queue, as Acquire does
   * (default 0.7); the others try again a little later, as TryAcquire
   * callers do. With 0 nobody queues, and grants contend the most.
   */
  readonly queueingShare?: number;
  /**
   * A waiter's place's lease (500 ms by default, 12.5 call timeouts). Near
   * the lock service's ratio (6 call timeouts, 240 ms) steps of an attempt
   * need a renewal first (stepRenewals), and places lapse during outages.
   */
  readonly waiterLeaseMs?: number;
  readonly mutation?: LockMutation;
}

export interface SimulatedGrant {
  readonly client: string;
  /** Shared by the two clients of a pair. */
  readonly owner: string;
  readonly token: bigint;
  readonly attempt: string;
  /** Set when granted from the queue. */
  readonly waiterId: string | undefined;
  /** Handed over by a release, not taken by a grant round of the client's own. */
  readonly handedOver: boolean;
  /** True time the attempt began, the grant came back, and its validity ended. */
  readonly attemptStartMs: number;
  readonly grantedAtMs: number;
  /** Moved on by a refresh that came back. */
  validUntilMs: number;
  /** True time the client stopped using it: never past validUntilMs. */
  usedUntilMs: number;
}

/** One wait in the queue, from an enqueue that returned. */
export interface SimulatedWaiter {
  readonly client: string;
  readonly waiterId: string;
  readonly ticket: bigint;
  /** True time the enqueue began and returned. */
  readonly enqueueStartMs: number;
  readonly enqueuedAtMs: number;
  /** True time a grant from the queue came back; undefined when the waiter gave up. */
  grantedAtMs: number | undefined;
}

export interface LockSimulationResult {
  readonly grants: readonly SimulatedGrant[];
  readonly waiters: readonly SimulatedWaiter[];
  /** Per waiterId, the first true time a server stopped keeping its place (see the header). */
  readonly lapses: ReadonlyMap<string, number>;
  readonly attempts: number;
  /** Renewals a waiter made before a step of an attempt or an undo, as the place might not have lasted through it. */
  readonly stepRenewals: number;
  /** Invariant violations, each naming its invariant. */
  readonly violations: readonly string[];
}

const ttlMs = 200;
const callTimeoutMs = 40;
const lockName = 'hot';
/** Longer than an outage (at most 350 ms) plus a renewal period: a live waiter's place outlasts a server that is down. */
const defaultWaiterLeaseMs = 500;
const renewalMs = 100;
/** Clients that share an owner in pairs; the rest have owners of their own. */
const sharedOwnerClients = 4;
/** How often a waiter attempts without being woken (a lease that ran out publishes nothing). */
const recheckMs = 60;
/** Published releases reach a waiter after up to this long, or not at all. */
const publishDelayMsMax = 15;

/** Hears what a server published (MemoryLockServer's message format). */
type Subscriber = (serverId: string, message: string) => void;

interface Event {
  readonly atMs: number;
  readonly order: number;
  readonly run: () => void;
}

/** The simulated world: a clock and the events due on it. */
class World {
  nowMs = 0;
  private events: Event[] = [];
  private order = 0;
  private readonly subscribers = new Set<Subscriber>();

  constructor(readonly random: () => number) {}

  /** Calls listener on each published release, until the returned function is called. */
  subscribe(listener: Subscriber): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  /** A server published a release or a departure: each subscriber hears of it a little later, or never. */
  publish(serverId: string, message: string): void {
    for (const subscriber of this.subscribers) {
      if (this.random() < 0.03) continue;
      this.at(this.random() * publishDelayMsMax, () => subscriber(serverId, message));
    }
  }

  at(delayMs: number, run: () => void): void {
    const event = { atMs: this.nowMs + delayMs, order: this.order++, run };
    // Kept sorted by time, then by order of scheduling; runs are short, so insertion is fine.
    let index = this.events.length;
    while (index > 0 && compareEvents(this.events[index - 1] as Event, event) > 0) index--;
    this.events.splice(index, 0, event);
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.at(delayMs, resolve));
  }

  /** Runs events in time order until none are left before endMs, letting promise jobs run after each. */
  async run(endMs: number): Promise<void> {
    for (;;) {
      const next = this.events[0];
      if (!next || next.atMs > endMs) return;
      this.events.shift();
      this.nowMs = next.atMs;
      next.run();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function compareEvents(a: Event, b: Event): number {
  return a.atMs - b.atMs || a.order - b.order;
}

/** A waiter's entry's lease on a server: when the enqueue that made it was sent, and when it ends (true time). */
interface Lease {
  readonly sentAtMs: number;
  readonly endsAtMs: number;
}

/**
 * A server whose clock runs at its own rate, which can forget its fences
 * when it restarts or ignore its queue (mutations), and which records when
 * it stops keeping a waiter's place.
 */
class SimulatedServer extends MemoryLockServer {
  /** Attempts this server granted (or handed over) from its queue, and to which waiter. */
  private readonly waiterOfAttempt = new Map<string, string>();
  /** Waiters whose place this server kept after the last call. */
  private keeping = new Set<string>();
  /**
   * Per waiter queued here, its entry's lease, in true time; kept until a
   * call takes the entry out, or its end is told (onLeaseEnded).
   */
  private readonly leases = new Map<string, Lease>();
  /** When the enqueue request being applied was sent (true time), as its link tells. */
  enqueueSentAtMs: number | undefined;

  constructor(
    id: string,
    private readonly world: World,
    private readonly rate: number,
    private readonly mutation: LockMutation | undefined,
    private readonly lapses: Map<string, number>,
    /** Told of each entry whose lease time ended here: when its enqueue was sent, and its true end. */
    private readonly onLeaseEnded: (serverId: string, waiterId: string, lease: Lease) => void,
  ) {
    super(id, () => world.nowMs * rate);
    this.onReleased = (_name, message) => world.publish(id, message);
  }

  restart(): void {
    if (this.mutation === 'forget-fences-on-restart') this.fences.clear();
  }

  override inspect(name: string): Promise<ServerLockState> {
    return this.tracked(() => super.inspect(name));
  }

  override grant(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    ttl: number,
    timeoutMs?: number,
    waiterId?: string,
  ): Promise<ServerGrant> {
    return this.tracked(() => {
      const answer = this.mutantGrant(name, owner, token, attempt, ttl, waiterId);
      // The memory server applies a call before its promise settles: the holder is this grant's if it granted.
      if (waiterId !== undefined && this.holders.get(name)?.attempt === attempt)
        this.waiterOfAttempt.set(attempt, waiterId);
      return answer;
    });
  }

  override release(
    name: string,
    owner: string,
    token: bigint,
    timeoutMs?: number,
    options: ServerRelease = {},
  ): Promise<boolean> {
    return this.tracked(() => {
      const held = this.holderOf(name);
      if (
        this.mutation === 'release-hands-over-held-lock' &&
        options.nextToken !== undefined &&
        held?.token !== token
      ) {
        this.holders.delete(name);
      }
      return super.release(name, owner, token, timeoutMs, options);
    });
  }

  protected override handOver(name: string, nextToken: bigint): Held | undefined {
    const fence = this.fences.get(name) ?? 0n;
    // Read before the handover takes the head out: whose claim it is, for placesKept.
    const claims = new Map(
      [...(this.liveQueue(name)?.entries() ?? [])].map(([id, entry]) => [entry.claim?.attempt, id]),
    );
    const held = super.handOver(name, nextToken);
    if (this.mutation === 'handover-skips-fence-raise') this.fences.set(name, fence);
    const waiterId = held && claims.get(held.attempt);
    if (held && waiterId !== undefined) this.waiterOfAttempt.set(held.attempt, waiterId);
    return held;
  }

  override refresh(name: string, owner: string, token: bigint, ttl: number): Promise<string | undefined> {
    return this.tracked(() => super.refresh(name, owner, token, ttl));
  }

  override enqueue(
    name: string,
    waiterId: string,
    ticket: bigint,
    leaseMs: number,
    timeoutMs?: number,
    options?: ServerEnqueue,
  ): Promise<ServerEnqueued> {
    const sentAtMs = this.enqueueSentAtMs ?? this.world.nowMs;
    return this.tracked(() => {
      const answer = super.enqueue(name, waiterId, ticket, leaseMs, timeoutMs, options);
      // Applied before the promise settles: queued (its lease starts now) unless it answered handed.
      const endsAtMs = this.nowMs() + leaseMs;
      if (this.liveQueue(name)?.get(waiterId)?.leaseEndsAtMs === endsAtMs) {
        this.leases.set(waiterId, { sentAtMs, endsAtMs: endsAtMs / this.rate });
      }
      return answer;
    });
  }

  protected override takesJoin(ticket: bigint, counter: bigint): boolean {
    return this.mutation === 'join-ignores-counter' || super.takesJoin(ticket, counter);
  }

  override leave(name: string, waiterId: string, timeoutMs?: number, claimAttempt?: string): Promise<boolean> {
    return this.tracked(() => super.leave(name, waiterId, timeoutMs, claimAttempt));
  }

  protected override aheadOf(
    queue: ReadonlyMap<string, QueueEntry> | undefined,
    waiterId: string | undefined,
  ): string | undefined {
    if (this.mutation === 'grant-ignores-queue') return undefined;
    if (this.mutation === 'grant-without-waiter-ignores-queue' && waiterId === undefined) return undefined;
    return super.aheadOf(queue, waiterId);
  }

  private async mutantGrant(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    ttl: number,
    waiterId: string | undefined,
  ): Promise<ServerGrant> {
    const answer = super.grant(name, owner, token, attempt, ttl, undefined, waiterId);
    if (this.mutation !== 'grant-ignores-fence') return answer;
    const settled = await answer;
    if (settled.outcome !== 'stale') return settled;
    this.fences.set(name, token > settled.fence ? token : settled.fence);
    this.holders.set(name, { owner, token, attempt, expiresAtMs: this.nowMs() + ttl });
    return { outcome: 'granted' };
  }

  /**
   * Applies a call, first noting every waiter whose place this server
   * stopped keeping since the last call: time ran out on its entry, or on
   * the lease of a grant of its that was undone. A call that ends a place
   * (a leave, a release) is the protocol's doing, not a lapse. Calls apply
   * synchronously, so nothing runs in between.
   */
  private tracked<T>(call: () => Promise<T>): Promise<T> {
    const keepingNow = this.placesKept();
    for (const waiterId of this.keeping) {
      if (!keepingNow.has(waiterId) && !this.lapses.has(waiterId)) this.lapses.set(waiterId, this.world.nowMs);
    }
    for (const [waiterId, lease] of this.leases) {
      if (lease.endsAtMs > this.world.nowMs) continue;
      this.leases.delete(waiterId);
      this.onLeaseEnded(this.id, waiterId, lease);
    }
    const queued = new Set(this.liveQueue(lockName)?.keys() ?? []);
    const answer = call();
    // An entry the call took out (a grant, a handover, a leave) has no lease left to end.
    for (const waiterId of queued) if (!this.liveQueue(lockName)?.has(waiterId)) this.leases.delete(waiterId);
    this.keeping = this.placesKept();
    return answer;
  }

  /** waiterId's entry's lease here while it is queued (or its end is yet to be told), in true time. */
  leaseOf(waiterId: string): Lease | undefined {
    return this.leases.get(waiterId);
  }

  /** The waiters queued here, and the one holding the lock under a grant from the queue. */
  private placesKept(): Set<string> {
    const kept = new Set(this.liveQueue(lockName)?.keys() ?? []);
    const held = this.holderOf(lockName);
    const holdingWaiter = held && this.waiterOfAttempt.get(held.attempt);
    if (holdingWaiter !== undefined) kept.add(holdingWaiter);
    return kept;
  }
}

/** A client's link to one server: requests and answers take time and can be lost; a down server refuses. */
class SimulatedLink implements LockServer {
  constructor(
    private readonly server: SimulatedServer,
    private readonly world: World,
    /** Told of each enqueue request as it is sent (whether it arrives or not), with the lease it is to renew. */
    private readonly onEnqueueSent: (serverId: string, waiterId: string, lease: Lease | undefined) => void,
  ) {}

  get id(): string {
    return this.server.id;
  }

  inspect(name: string, timeoutMs: number): Promise<ServerLockState> {
    return this.call(timeoutMs, () => this.server.inspect(name));
  }

  grant(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    ttl: number,
    timeoutMs: number,
    waiterId?: string,
  ): Promise<ServerGrant> {
    return this.call(timeoutMs, () => this.server.grant(name, owner, token, attempt, ttl, undefined, waiterId));
  }

  release(name: string, owner: string, token: bigint, timeoutMs: number, options?: ServerRelease): Promise<boolean> {
    return this.call(timeoutMs, () => this.server.release(name, owner, token, undefined, options));
  }

  refresh(name: string, owner: string, token: bigint, ttl: number, timeoutMs: number): Promise<string | undefined> {
    return this.call(timeoutMs, () => this.server.refresh(name, owner, token, ttl));
  }

  enqueue(
    name: string,
    waiterId: string,
    ticket: bigint,
    leaseMs: number,
    timeoutMs: number,
    options?: ServerEnqueue,
  ): Promise<ServerEnqueued> {
    const sentAtMs = this.world.nowMs;
    this.onEnqueueSent(this.id, waiterId, this.server.leaseOf(waiterId));
    return this.call(timeoutMs, () => {
      this.server.enqueueSentAtMs = sentAtMs;
      const applied = this.server.enqueue(name, waiterId, ticket, leaseMs, undefined, options);
      this.server.enqueueSentAtMs = undefined;
      return applied;
    });
  }

  leave(name: string, waiterId: string, timeoutMs: number, claimAttempt?: string): Promise<boolean> {
    return this.call(timeoutMs, () => this.server.leave(name, waiterId, undefined, claimAttempt));
  }

  private call<T>(timeoutMs: number, apply: () => Promise<T>): Promise<T> {
    const { world } = this;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        outcome();
      };
      world.at(timeoutMs, () => settle(() => reject(new UnavailableError(`${this.id} did not answer in time`))));
      if (world.random() < 0.03) return; // the request is lost
      world.at(world.random() * 15, () => {
        apply().then(
          (answer) => {
            if (world.random() < 0.03) return; // the answer is lost
            world.at(world.random() * 15, () => settle(() => resolve(answer)));
          },
          (error: unknown) => world.at(world.random() * 5, () => settle(() => reject(error))),
        );
      });
    });
  }
}

/** A quorum with a planted bug, or none. */
class MutantQuorum extends LockQuorum {
  constructor(
    private readonly settings: LockQuorumOptions,
    private readonly mutation: LockMutation | undefined,
    private readonly world: World,
  ) {
    super(settings);
  }

  protected override validUntilMs(startMs: number, ttl: number): number {
    if (this.mutation !== 'validity-from-completion') return super.validUntilMs(startMs, ttl);
    return this.world.nowMs + ttl - this.driftMs(ttl);
  }

  protected override handoverValidUntilMs(sinceMs: number, ttl: number): number {
    if (this.mutation !== 'handover-validity-from-news') return super.handoverValidUntilMs(sinceMs, ttl);
    return this.world.nowMs + ttl - this.driftMs(ttl);
  }

  protected override waitsBehind(queue: ServerQueue, waiterId: string | undefined): boolean {
    if (this.mutation === 'grant-ignores-queue') return false;
    if (this.mutation === 'grant-without-waiter-ignores-queue' && waiterId === undefined) return false;
    return super.waitsBehind(queue, waiterId);
  }

  protected override async undoGrant(
    name: string,
    owner: string,
    token: bigint,
    attempt: string,
    grants: readonly (ServerGrant | undefined)[],
    waiterId: string | undefined,
  ): Promise<void> {
    const placeKept = this.mutation === 'undo-forgets-place' ? undefined : waiterId;
    await super.undoGrant(name, owner, token, attempt, grants, placeKept);
    if (this.mutation !== 'undo-releases-by-owner') return;
    const { servers, callTimeoutMs: timeoutMs } = this.settings;
    await Promise.all(servers.map((server) => server.release(name, owner, token, timeoutMs).catch(() => false)));
  }
}

/** The base constructor asks majorityOf before any field is set: a class of its own. */
class HalfMajorityQuorum extends MutantQuorum {
  protected override majorityOf(count: number): number {
    return Math.max(1, Math.floor(count / 2));
  }
}

export async function runLockSimulation(options: LockSimulationOptions): Promise<LockSimulationResult> {
  const random = seededUniform(options.seed);
  const world = new World(random);
  const serverCount = options.servers ?? 3;
  const lapses = new Map<string, number>();
  /** Violations of place-renewed and handover-taken, found as the waits go on. */
  const waitViolations: string[] = [];
  const waiterLeaseMs = options.waiterLeaseMs ?? defaultWaiterLeaseMs;
  /** Per waiterId, its wait: from its join's start until it ended, its stalls, and per server when it sent enqueues. */
  type Wait = {
    readonly fromMs: number;
    untilMs: number;
    stalls: Array<[number, number]>;
    sent: Map<string, number[]>;
  };
  const waits = new Map<string, Wait>();
  /**
   * place-renewed: while a waiter waits, not stalled, the first enqueue it
   * sends to a server after the one that made its entry there goes out
   * while that lease outlasts a call timeout and the rule's margin (a
   * twentieth of the lease, less 1% for a server's clock rate), as
   * placeLastsThrough promises; checked at that send (atMs), or when the
   * lease ends with none sent.
   */
  const checkRenewal = (serverId: string, waiterId: string, lease: Lease, atMs: number) => {
    const wait = waits.get(waiterId);
    if (!wait || lease.sentAtMs < wait.fromMs || atMs > wait.untilMs) return;
    if (atMs <= lease.endsAtMs - (callTimeoutMs + waiterLeaseMs / 20 - waiterLeaseMs / 100)) return;
    if (wait.stalls.some(([fromMs, untilMs]) => fromMs < atMs && untilMs > lease.sentAtMs)) return;
    if ((wait.sent.get(serverId) ?? []).some((sentAtMs) => sentAtMs > lease.sentAtMs && sentAtMs < atMs)) return;
    waitViolations.push(
      `place-renewed: ${waiterId}'s entry on ${serverId}, enqueued at ${lease.sentAtMs.toFixed(1)}, lasted until ${lease.endsAtMs.toFixed(1)}, and its next renewal there ${atMs < lease.endsAtMs ? `went out at ${atMs.toFixed(1)}` : 'had not gone out'}`,
    );
  };
  const onEnqueueSent = (serverId: string, waiterId: string, lease: Lease | undefined) => {
    if (lease) checkRenewal(serverId, waiterId, lease, world.nowMs);
    const sent = waits.get(waiterId)?.sent;
    sent?.set(serverId, [...(sent.get(serverId) ?? []), world.nowMs]);
  };
  const onLeaseEnded = (serverId: string, waiterId: string, lease: Lease) =>
    checkRenewal(serverId, waiterId, lease, lease.endsAtMs);
  const servers = Array.from(
    { length: serverCount },
    // Clock rates within 0.4% of true time, inside the 1% drift allowance.
    (_, index) =>
      new SimulatedServer(`s${index + 1}`, world, 1 + (random() - 0.5) * 0.008, options.mutation, lapses, onLeaseEnded),
  );
  const grants: SimulatedGrant[] = [];
  const waiters: SimulatedWaiter[] = [];
  let attempts = 0;
  let stepRenewals = 0;
  const durationMs = options.durationMs ?? 5_000;
  const queueingShare = options.queueingShare ?? 0.7;

  // Servers go down and come back, one at a time; now and then all of them, one after another (a rolling restart).
  const restart = async (server: SimulatedServer, downMs: number) => {
    server.up = false;
    await world.sleep(downMs);
    server.restart();
    server.up = true;
  };
  const nemesis = async () => {
    while (world.nowMs < durationMs) {
      await world.sleep(200 + random() * 600);
      if (random() < 0.25) {
        for (const server of servers) await restart(server, 20 + random() * 60);
      } else {
        await restart(servers[Math.floor(random() * servers.length)] as SimulatedServer, 50 + random() * 300);
      }
    }
  };

  type Taken = {
    readonly token: bigint;
    readonly attempt: string;
    readonly validUntilMs: number;
    readonly attemptStartMs: number;
    readonly handedOver?: boolean;
  };

  /** Waits in the queue as the lock service does; the grant, or undefined after giving up. */
  const waitInQueue = async (
    quorum: LockQuorum,
    client: string,
    owner: string,
    waiterId: string,
  ): Promise<Taken | undefined> => {
    const enqueueStartMs = world.nowMs;
    const wait: Wait = { fromMs: enqueueStartMs, untilMs: Infinity, stalls: [], sent: new Map() };
    waits.set(waiterId, wait);
    const claim = { owner, ttlMs };
    // Per token and attempt handed over to this waiter's claim, the servers that told of it.
    const handovers = new Map<string, Set<string>>();
    const heardAtMs = new Map<string, number>();
    /** This waiter's claim attempts: every waiter hears every handover, as an instance does, and counts its own. */
    const claims = new Set<string>();
    let currentClaim: string | undefined;
    const claimed = (attempt: string | undefined) => {
      if (attempt === undefined) return;
      claims.add(attempt);
      currentClaim = attempt;
    };
    /** When the join or the last renewal was sent: the place's lease on any server starts no earlier. */
    let sentAtMs = world.nowMs;
    let renewAtMs = Infinity;
    let ticket: bigint | undefined;
    /** A handover an enqueue (the join or a renewal) found, until the wait takes it, before anything else. */
    let handedByEnqueue: Taken | undefined;
    /** Joins, or renews the place (its ticket, its claim), as the lock service's WaiterPlace does. */
    const enqueue = async () => {
      sentAtMs = world.nowMs;
      renewAtMs = sentAtMs + renewalMs;
      const place = await quorum.enqueue(lockName, waiterId, waiterLeaseMs, {
        ...(ticket === undefined ? {} : { ticket }),
        claim,
      });
      ticket = place.ticket;
      claimed(place.claimAttempt);
      handedByEnqueue = place.handed && { ...place.handed, attemptStartMs: enqueueStartMs, handedOver: true };
      return place;
    };
    /**
     * As WaiterPlace.keepThrough: renews first if a step of up to roundsMax
     * rounds could outlast the place; false, for the step not to be taken,
     * once an enqueue found the lock handed over.
     */
    const keepThrough = async (roundsMax: number) => {
      const lastsThrough =
        options.mutation === 'steps-skip-renewal' ||
        placeLastsThrough(world.nowMs - sentAtMs, roundsMax, callTimeoutMs, waiterLeaseMs);
      if (!handedByEnqueue && !lastsThrough) {
        stepRenewals++;
        await enqueue();
      }
      return handedByEnqueue === undefined;
    };
    /**
     * As the lock service does: undoes a handover to a retired claim, and
     * one short of a majority for a call's time, where it was made; whether
     * it undid any. It stops when a renewal made for an undo finds the lock
     * handed over: that is to be taken.
     */
    const undoStalled = async () => {
      let undone = false;
      for (const [key, servers] of [...handovers]) {
        const [token, attempt] = key.split(':') as [string, string];
        if (!claims.has(attempt)) continue;
        const stalled =
          servers.size < quorum.majority && world.nowMs >= (heardAtMs.get(key) ?? Infinity) + callTimeoutMs;
        if (attempt === currentClaim && !stalled) continue;
        if (!(await keepThrough(stepRoundsMax.undoHandover))) break;
        handovers.delete(key);
        claimed(await quorum.undoHandover(lockName, waiterId, owner, BigInt(token), attempt, servers));
        undone = true;
      }
      return undone;
    };
    let wake: (() => void) | undefined;
    /** News that came while the waiter was busy: it does not wait then, as the lock service's Waiter does not. */
    let woken = false;
    /** A handover whose validity ran out and could not be refreshed: released, not used. */
    let spent: Taken | undefined;
    const unsubscribe = world.subscribe((serverId, message) => {
      // `<token>:<attempt>:<token>:<attempt>` or `handed:<token>:<attempt>`: the last two name the handover.
      const parts = message.split(':');
      const [token, attempt] = parts.length === 4 || parts[0] === 'handed' ? parts.slice(-2) : [];
      if (token !== undefined && attempt !== undefined) {
        const key = `${token}:${attempt}`;
        if (!handovers.has(key)) heardAtMs.set(key, world.nowMs);
        handovers.set(key, (handovers.get(key) ?? new Set()).add(serverId));
      }
      woken = true;
      wake?.();
    });
    /** The grant handed over to this waiter's claim by a majority, as the servers told of it. */
    const handedOver = (): Taken | undefined => {
      for (const [key, servers] of handovers) {
        const [token, attempt] = key.split(':') as [string, string];
        const grant = quorum.acceptHandover(lockName, waiterId, BigInt(token), attempt, servers);
        if (!grant) continue;
        for (const [other, minority] of handovers) {
          const [otherToken, otherAttempt] = other.split(':') as [string, string];
          if (other === key || !claims.has(otherAttempt)) continue;
          void quorum.undoHandover(lockName, waiterId, owner, BigInt(otherToken), otherAttempt, minority);
        }
        // As the lock service does, after giving the others' news time to come (they are late, or lost).
        void world.sleep(publishDelayMsMax).then(() => quorum.leaveUnhanded(lockName, waiterId, servers));
        return { ...grant, attemptStartMs: enqueueStartMs, handedOver: true };
      }
      return undefined;
    };
    /**
     * A handover to use, as the lock service does: as it is while at least
     * half its TTL is left, else refreshed first (its validity counts from
     * the claim's enqueue, which may be long ago); undefined and spent set
     * when the refresh fails.
     */
    const usable = async (handed: Taken | undefined): Promise<Taken | undefined> => {
      if (!handed || handed.validUntilMs - world.nowMs >= ttlMs / 2) return handed;
      const refreshed = await quorum.refresh(lockName, owner, handed.token, ttlMs).catch(() => undefined);
      if (refreshed && refreshed.attempt === handed.attempt && refreshed.validUntilMs > world.nowMs) {
        return { ...refreshed, attemptStartMs: handed.attemptStartMs, handedOver: true };
      }
      spent = handed;
      return undefined;
    };
    try {
      // A failed join takes the new entry out again itself.
      const joined = await enqueue().catch(() => undefined);
      if (!joined) return undefined;
      const waiter: SimulatedWaiter = {
        client,
        waiterId,
        ticket: joined.ticket,
        enqueueStartMs,
        enqueuedAtMs: world.nowMs,
        grantedAtMs: undefined,
      };
      waiters.push(waiter);
      const granted = (taken: Taken): Taken => {
        waiter.grantedAtMs = world.nowMs;
        return taken;
      };
      const giveUpAtMs = world.nowMs + 300 + random() * 1_500;
      let attemptNow = joined.first && joined.free;
      for (;;) {
        // A join that tried a second ticket, or a renewal, may find the lock handed over already (its news lost).
        const heard = handedByEnqueue ?? handedOver();
        handedByEnqueue = undefined;
        // An undo leaves a new claim where the handover was made: the other servers get it from a renewal now. A
        // renewal made for an undo that fails ends the wait.
        const undone = heard ? false : await undoStalled().catch(() => undefined);
        if (undone === undefined) break;
        if (undone) renewAtMs = world.nowMs;
        const handed = await usable(heard);
        if (handed) return granted(handed);
        if (spent) break;
        if (attemptNow && !handedByEnqueue) {
          attempts++;
          const attemptStartMs = world.nowMs;
          // An attempt that fails (fewer than a majority answered, a renewal for a step too) ends the wait, as
          // it ends an Acquire.
          const beforeStep =
            options.mutation === 'attempt-ignores-stop'
              ? async (roundsMax: number) => {
                  await keepThrough(roundsMax);
                  return true;
                }
              : keepThrough;
          const attempt = await quorum.tryAcquire(lockName, owner, ttlMs, waiterId, beforeStep).catch(() => undefined);
          if (!attempt) break;
          if (attempt.acquired) return granted({ ...attempt.grant, attemptStartMs });
        }
        // A renewal made for a step found the lock handed over: take it now.
        if (handedByEnqueue) continue;
        if (world.nowMs >= giveUpAtMs) break;
        // Now and then the waiter's instance stalls past its lease: its place lapses.
        if (random() < 0.01) {
          wait.stalls.push([world.nowMs, world.nowMs + waiterLeaseMs * 1.5]);
          await world.sleep(waiterLeaseMs * 1.5);
        }
        const wakeAtMs = Math.min(giveUpAtMs, renewAtMs, world.nowMs + recheckMs);
        if (!woken) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            world.at(Math.max(0, wakeAtMs - world.nowMs), resolve);
          });
        }
        wake = undefined;
        woken = false;
        attemptNow = true;
        // A renewal that fails ends the wait, as it ends an Acquire.
        if (world.nowMs >= renewAtMs && !(await enqueue().catch(() => undefined))) break;
      }
    } finally {
      unsubscribe();
      wait.untilMs = world.nowMs;
      // handover-taken: the wait ends with a handover a renewal found (used, or released when spent), not past it.
      if (handedByEnqueue) {
        waitViolations.push(
          `handover-taken: ${waiterId}'s renewal found the lock handed over to it under token ${handedByEnqueue.token}, and its wait ended at ${world.nowMs.toFixed(1)} without taking it`,
        );
      }
    }
    if (spent) {
      const releaser = { waiterId, claimAttempt: spent.attempt };
      await quorum.release(lockName, owner, spent.token, { attempt: spent.attempt, releaser }).catch(() => undefined);
    } else await quorum.leave(lockName, waiterId).catch(() => undefined);
    return undefined;
  };

  const clientCount = options.clients ?? 6;
  const skewsMs = Array.from({ length: clientCount }, () => (random() - 0.5) * 40);
  const Quorum = options.mutation === 'half-is-majority' ? HalfMajorityQuorum : MutantQuorum;
  // One instance per client, named after it; clients also go through the others'.
  const instances = Array.from(
    { length: clientCount },
    (_, index) =>
      new Quorum(
        {
          servers: servers.map((server) => new SimulatedLink(server, world, onEnqueueSent)),
          nowMs: () => world.nowMs,
          // Wall clocks up to 40 ms apart: joins guess tickets from them, and some guesses come in below others.
          wallClockMs: () => world.nowMs + skewsMs[index]!,
          random,
          callTimeoutMs,
          attemptPrefix: `c${index + 1}`,
        },
        options.mutation,
        world,
      ),
  );
  const anyInstance = () => instances[Math.floor(random() * instances.length)] as LockQuorum;
  const instanceOtherThan = (home: LockQuorum): LockQuorum => {
    const others = instances.filter((instance) => instance !== home);
    return others[Math.floor(random() * others.length)] ?? home;
  };

  const client = async (index: number) => {
    const name = `c${index + 1}`;
    // The first clients share owners in pairs (one caller's concurrent requests, which must release by lease id);
    // the others have owners of their own and release as a caller without the lease id does.
    const sharesOwner = index < sharedOwnerClients;
    const owner = sharesOwner ? `o${Math.floor(index / 2) + 1}` : `u${index + 1}`;
    const home = instances[index] as LockQuorum;
    let waits = 0;
    while (world.nowMs < durationMs) {
      attempts++;
      let attemptStartMs = world.nowMs;
      let through = random() < 0.3 ? instanceOtherThan(home) : home;
      let attempt = await through.tryAcquire(lockName, owner, ttlMs).catch(() => undefined);
      if (attempt?.acquired && random() < 0.05) {
        // The answer is lost on its way: the client never uses that grant, and asks another instance at once.
        attempts++;
        attemptStartMs = world.nowMs;
        through = instanceOtherThan(through);
        attempt = await through.tryAcquire(lockName, owner, ttlMs).catch(() => undefined);
      }
      let taken: Taken | undefined = attempt?.acquired ? { ...attempt.grant, attemptStartMs } : undefined;
      let waiterId: string | undefined;
      // Refused: most clients wait in the queue (Acquire), the others try again later (TryAcquire).
      if (attempt && !attempt.acquired && random() < queueingShare) {
        waits++;
        waiterId = `${name}/${waits}`;
        taken = await waitInQueue(through, name, owner, waiterId);
      }
      if (taken) {
        const grant: SimulatedGrant = {
          client: name,
          owner,
          token: taken.token,
          attempt: taken.attempt,
          waiterId,
          handedOver: taken.handedOver === true,
          attemptStartMs: taken.attemptStartMs,
          grantedAtMs: world.nowMs,
          validUntilMs: taken.validUntilMs,
          usedUntilMs: world.nowMs,
        };
        grants.push(grant);
        await holdFor(grant);
        if (random() < 0.8) {
          const releasing = anyInstance();
          // As the lock service does: the instance that answered the grant releases exactly it, vouched for,
          // naming the waiter (and the claim of a handover) it went to; another instance knows only what the
          // client sends, the lease id or (a client without it) nothing beyond owner and token.
          const granted = waiterId === undefined ? {} : { waiterId };
          const releaser =
            releasing !== through
              ? undefined
              : taken.handedOver && waiterId !== undefined
                ? { waiterId, claimAttempt: taken.attempt }
                : granted;
          const attempt = sharesOwner || releasing === through ? taken.attempt : undefined;
          await releasing.release(lockName, owner, taken.token, { attempt, releaser }).catch(() => undefined);
        }
      }
      await world.sleep(random() * 30);
    }
  };

  /**
   * Uses the lock for a while, now and then refreshing it once first; a
   * pause can outlast the validity, but a client never uses it past then.
   */
  const holdFor = async (grant: SimulatedGrant) => {
    const withinValidityMs = () => random() * Math.max(0, grant.validUntilMs - world.nowMs);
    if (random() < 0.2) {
      await world.sleep(withinValidityMs());
      const refreshStartMs = world.nowMs;
      const refreshed = await anyInstance()
        .refresh(lockName, grant.owner, grant.token, ttlMs)
        .catch(() => undefined);
      // A refresh begun after the validity ran out is too late: the client counts the lock as lost by then.
      if (refreshed && refreshStartMs < grant.validUntilMs) {
        if (refreshed.attempt !== grant.attempt) {
          refreshViolations.push(
            `refresh-same-attempt: ${grant.client} refreshed token ${grant.token} of attempt ${grant.attempt}, and it came back as ${refreshed.attempt}'s`,
          );
        }
        grant.validUntilMs = refreshed.validUntilMs;
      }
    }
    await world.sleep(random() < 0.2 ? ttlMs * 2 : withinValidityMs());
    grant.usedUntilMs = Math.min(world.nowMs, grant.validUntilMs);
  };

  const refreshViolations: string[] = [];
  const running = [nemesis(), ...Array.from({ length: clientCount }, (_, index) => client(index))];
  await world.run(durationMs + 10 * ttlMs);
  void Promise.allSettled(running);
  return {
    grants,
    waiters,
    lapses,
    attempts,
    stepRenewals,
    violations: [...refreshViolations, ...waitViolations, ...checkInvariants(grants, waiters, lapses)],
  };
}

export function checkInvariants(
  grants: readonly SimulatedGrant[],
  waiters: readonly SimulatedWaiter[] = [],
  lapses: ReadonlyMap<string, number> = new Map(),
): string[] {
  const violations: string[] = [];
  const byToken = new Map<bigint, SimulatedGrant>();
  for (const grant of grants) {
    const earlier = byToken.get(grant.token);
    if (earlier) violations.push(`unique-tokens: ${earlier.client} and ${grant.client} both got token ${grant.token}`);
    byToken.set(grant.token, grant);
  }
  for (const first of grants) {
    for (const second of grants) {
      if (first === second) continue;
      if (second.attemptStartMs > first.grantedAtMs && second.token <= first.token) {
        violations.push(
          `later-grant-higher-token: ${second.client}'s grant began at ${second.attemptStartMs.toFixed(1)} after ${first.client}'s came back with ${first.token}, and got ${second.token}`,
        );
      }
      if (first.grantedAtMs <= second.grantedAtMs && second.grantedAtMs < first.usedUntilMs) {
        violations.push(
          `mutual-exclusion: ${first.client} (token ${first.token}) used the lock until ${first.usedUntilMs.toFixed(1)}, and ${second.client} (token ${second.token}) was granted it at ${second.grantedAtMs.toFixed(1)}`,
        );
      }
      if (first.usedUntilMs <= second.grantedAtMs && second.token <= first.token) {
        violations.push(
          `fencing-order: ${first.client} used token ${first.token} until ${first.usedUntilMs.toFixed(1)}, then ${second.client} used a lower one, ${second.token}`,
        );
      }
    }
  }
  /** Whether a's place was kept everywhere until atMs. */
  const keptUntil = (a: SimulatedWaiter, atMs: number) => (lapses.get(a.waiterId) ?? Infinity) >= atMs;
  for (const a of waiters) {
    for (const b of waiters) {
      if (a === b || a.enqueuedAtMs >= b.enqueueStartMs) continue;
      if (b.ticket <= a.ticket) {
        violations.push(
          `later-enqueue-higher-ticket: ${b.waiterId}'s enqueue began at ${b.enqueueStartMs.toFixed(1)} after ${a.waiterId}'s came back with ticket ${a.ticket}, and got ${b.ticket}`,
        );
      }
      if (a.grantedAtMs === undefined || b.grantedAtMs === undefined) continue;
      if (b.grantedAtMs < a.grantedAtMs && keptUntil(a, b.grantedAtMs)) {
        violations.push(
          `arrival-order: ${b.waiterId} (queued at ${b.enqueuedAtMs.toFixed(1)}) was granted at ${b.grantedAtMs.toFixed(1)}, before ${a.waiterId} (queued at ${a.enqueuedAtMs.toFixed(1)}, granted at ${a.grantedAtMs.toFixed(1)})`,
        );
      }
    }
    if (a.grantedAtMs === undefined) continue;
    for (const grant of grants) {
      if (grant.waiterId !== undefined || grant.attemptStartMs <= a.enqueuedAtMs) continue;
      if (grant.grantedAtMs < a.grantedAtMs && keptUntil(a, grant.grantedAtMs)) {
        violations.push(
          `no-barging: ${grant.client} began an attempt without waiting at ${grant.attemptStartMs.toFixed(1)} and was granted at ${grant.grantedAtMs.toFixed(1)}, before ${a.waiterId} (queued at ${a.enqueuedAtMs.toFixed(1)}, granted at ${a.grantedAtMs.toFixed(1)})`,
        );
      }
    }
  }
  return violations;
}

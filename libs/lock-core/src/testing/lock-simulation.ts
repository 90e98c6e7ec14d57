// A seeded simulation of lock clients taking one hot lock through
// LockQuorum over in-memory servers, in simulated time: every call to a
// server is a request that arrives after a random delay (or is lost), is
// applied atomically there, and an answer that comes back after another
// delay (or is lost, leaving the caller to time out); servers go down and
// come back (keeping what they stored, as Redis with appendfsync always);
// each server's clock runs at its own rate, within the drift allowance.
// Clients hold the lock for a while, sometimes longer than its validity
// (a pause), and release it or let it expire.
//
// Named invariants, checked at the end of a run:
// - unique-tokens: no two grants share a token;
// - later-grant-higher-token: a grant that began after another was
//   returned has a higher token;
// - mutual-exclusion: while a grant is valid (on the true clock) no other
//   grant is;
// - fencing-order: of two grants whose use did not overlap, the later one
//   has the higher token.
// Mutations plant the bugs the invariants exist for; a run with one must
// fail (lock-simulation.spec.ts).
import { UnavailableError } from '@bulwark/errors';
import { seededUniform } from '@bulwark/random';
import { LockQuorum, type LockQuorumOptions } from '../lib/lock-quorum';
import type { LockServer, ServerGrant, ServerLockState } from '../lib/lock-server';
import { MemoryLockServer } from '../lib/memory-lock-server';

export type LockMutation =
  /** A server grants over a fence at or above the token. */
  | 'grant-ignores-fence'
  /** A restarted server has forgotten its fences (no appendfsync always). */
  | 'forget-fences-on-restart'
  /** Half the servers count as a majority. */
  | 'half-is-majority'
  /** Validity counted from when the grant completed, not from before it began. */
  | 'validity-from-completion';

export interface LockSimulationOptions {
  readonly seed: number;
  readonly servers?: number;
  readonly clients?: number;
  /** Simulated ms the clients run. */
  readonly durationMs?: number;
  readonly mutation?: LockMutation;
}

export interface SimulatedGrant {
  readonly client: string;
  readonly token: bigint;
  /** True time the attempt began, the grant came back, and its validity ended. */
  readonly attemptStartMs: number;
  readonly grantedAtMs: number;
  readonly validUntilMs: number;
  /** True time the client stopped using it: never past validUntilMs. */
  usedUntilMs: number;
}

export interface LockSimulationResult {
  readonly grants: readonly SimulatedGrant[];
  readonly attempts: number;
  /** Invariant violations, each naming its invariant. */
  readonly violations: readonly string[];
}

const ttlMs = 200;
const callTimeoutMs = 40;
const lockName = 'hot';

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

  constructor(readonly random: () => number) {}

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

/** A server whose clock runs at its own rate, which can forget its fences when it restarts (a mutation). */
class SimulatedServer extends MemoryLockServer {
  constructor(
    id: string,
    world: World,
    rate: number,
    private readonly mutation: LockMutation | undefined,
  ) {
    super(id, () => world.nowMs * rate);
  }

  restart(): void {
    if (this.mutation === 'forget-fences-on-restart') this.fences.clear();
  }

  override async grant(name: string, owner: string, token: bigint, ttl: number): Promise<ServerGrant> {
    const answer = await super.grant(name, owner, token, ttl);
    if (this.mutation !== 'grant-ignores-fence' || answer.outcome !== 'stale') return answer;
    this.fences.set(name, token > answer.fence ? token : answer.fence);
    this.holders.set(name, { owner, token, expiresAtMs: this.nowMs() + ttl });
    return { outcome: 'granted' };
  }
}

/** A client's link to one server: requests and answers take time and can be lost; a down server refuses. */
class SimulatedLink implements LockServer {
  constructor(
    private readonly server: SimulatedServer,
    private readonly world: World,
  ) {}

  get id(): string {
    return this.server.id;
  }

  inspect(name: string, timeoutMs: number): Promise<ServerLockState> {
    return this.call(timeoutMs, () => this.server.inspect(name));
  }

  grant(name: string, owner: string, token: bigint, ttl: number, timeoutMs: number): Promise<ServerGrant> {
    return this.call(timeoutMs, () => this.server.grant(name, owner, token, ttl));
  }

  release(name: string, owner: string, token: bigint, timeoutMs: number): Promise<boolean> {
    return this.call(timeoutMs, () => this.server.release(name, owner, token));
  }

  refresh(name: string, owner: string, token: bigint, ttl: number, timeoutMs: number): Promise<boolean> {
    return this.call(timeoutMs, () => this.server.refresh(name, owner, token, ttl));
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
    options: LockQuorumOptions,
    private readonly mutation: LockMutation | undefined,
    private readonly world: World,
  ) {
    super(options);
  }

  protected override validUntilMs(startMs: number, ttl: number): number {
    if (this.mutation !== 'validity-from-completion') return super.validUntilMs(startMs, ttl);
    return this.world.nowMs + ttl - this.driftMs(ttl);
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
  const servers = Array.from(
    { length: serverCount },
    // Clock rates within 0.4% of true time, inside the 1% drift allowance.
    (_, index) => new SimulatedServer(`s${index + 1}`, world, 1 + (random() - 0.5) * 0.008, options.mutation),
  );
  const grants: SimulatedGrant[] = [];
  let attempts = 0;
  const durationMs = options.durationMs ?? 5_000;

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

  const client = async (name: string) => {
    const Quorum = options.mutation === 'half-is-majority' ? HalfMajorityQuorum : MutantQuorum;
    const quorum = new Quorum(
      { servers: servers.map((server) => new SimulatedLink(server, world)), nowMs: () => world.nowMs, callTimeoutMs },
      options.mutation,
      world,
    );
    while (world.nowMs < durationMs) {
      attempts++;
      const attemptStartMs = world.nowMs;
      const attempt = await quorum.tryAcquire(lockName, name, ttlMs).catch(() => undefined);
      if (attempt?.acquired) {
        const grant: SimulatedGrant = {
          client: name,
          token: attempt.grant.token,
          attemptStartMs,
          grantedAtMs: world.nowMs,
          validUntilMs: attempt.grant.validUntilMs,
          usedUntilMs: world.nowMs,
        };
        grants.push(grant);
        // Uses it for a while; a pause can outlast the validity, but a client never uses it past then.
        const holdMs = random() < 0.2 ? ttlMs * 2 : random() * (attempt.grant.validUntilMs - world.nowMs);
        await world.sleep(holdMs);
        grant.usedUntilMs = Math.min(world.nowMs, grant.validUntilMs);
        if (random() < 0.8) await quorum.release(lockName, name, attempt.grant.token).catch(() => undefined);
      }
      await world.sleep(random() * 30);
    }
  };

  const running = [nemesis(), ...Array.from({ length: options.clients ?? 4 }, (_, index) => client(`c${index + 1}`))];
  await world.run(durationMs + 10 * ttlMs);
  void Promise.allSettled(running);
  return { grants, attempts, violations: checkInvariants(grants) };
}

export function checkInvariants(grants: readonly SimulatedGrant[]): string[] {
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
  return violations;
}

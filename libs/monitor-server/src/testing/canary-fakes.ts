// A router and a lock service as the canaries see them, each a real gRPC
// server on a free loopback port: kv.v1.KV over an in-memory map (or
// answering stale values, UNAVAILABLE, or holding Puts until the test lets
// them go), and lock.v1.Lock granting and releasing from memory (or
// answering that someone else holds every lock). Methods the canaries do
// not use answer UNIMPLEMENTED.
import { kvV1, lockV1, type commonV1 } from '@bulwark/contracts';
import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { notImplemented, startServer, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';

const logger = createLogger({ service: 'test-canary-fakes', memberId: 'fake', level: 'fatal' });

/** Serves one service on a free loopback port; returns its address and the drain. */
async function serve(
  binding: (kit: HandlerKit) => ServiceBinding,
): Promise<{ address: string; stop: () => Promise<void> }> {
  const server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 1_000 }, (kit) => [binding(kit)]);
  return { address: `127.0.0.1:${server.port}`, stop: () => server.drain('test done') };
}

function header(memberId: string, groupId: string): commonV1.ResponseHeader {
  return { memberId, epoch: 1n, ballot: undefined, revision: 1n, sequence: 1n, groupId };
}

/** What the fake router does with the calls it gets. */
export type FakeRouterBehaviour =
  /** Puts and Gets on its map. */
  | 'serve'
  /** Puts are kept, but every Get answers the value of the key's first Put. */
  | 'stale'
  /** Every call fails UNAVAILABLE, as a router whose group has no primary. */
  | 'unavailable'
  /** A Put waits until release() (or the caller's deadline), then is served. */
  | 'held';

export interface FakeRouter {
  readonly address: string;
  behaviour: FakeRouterBehaviour;
  /** The keys of every Put received, in order. */
  readonly putKeys: string[];
  /** Runs inside every Put before it is answered (a test advancing its clock). */
  duringPut: (() => void) | undefined;
  /** Resolves when the next Put arrives. */
  nextPut(): Promise<void>;
  /** Lets held Puts go on. */
  release(): void;
  stop(): Promise<void>;
}

/**
 * A router; groupOf names the group that owns a key, as headers report it
 * (the ring the test built the canary keys from).
 */
export async function serveFakeRouter(memberId: string, groupOf: (key: string) => string): Promise<FakeRouter> {
  const values = new Map<string, { value: Buffer; version: bigint }>();
  const firstValues = new Map<string, Buffer>();
  let held: (() => void)[] = [];
  let putWaiters: (() => void)[] = [];

  const implementation = (kit: HandlerKit): kvV1.KVServer => ({
    put: kit.unary(async (request: kvV1.PutRequest, call): Promise<kvV1.PutResponse> => {
      fake.putKeys.push(request.key);
      const arrived = putWaiters;
      putWaiters = [];
      for (const resolve of arrived) resolve();
      if (fake.behaviour === 'unavailable') throw new UnavailableError(`group ${groupOf(request.key)} has no primary`);
      if (fake.behaviour === 'held') {
        await new Promise<void>((resolve) => {
          held.push(resolve);
          call.on('cancelled', () => resolve());
        });
      }
      fake.duringPut?.();
      const version = (values.get(request.key)?.version ?? 0n) + 1n;
      values.set(request.key, { value: request.value, version });
      if (!firstValues.has(request.key)) firstValues.set(request.key, request.value);
      return { header: header(memberId, groupOf(request.key)), succeeded: true, version, current: undefined };
    }),
    get: kit.unary((request: kvV1.GetRequest): kvV1.GetResponse => {
      if (fake.behaviour === 'unavailable') throw new UnavailableError(`group ${groupOf(request.key)} has no primary`);
      const stored = values.get(request.key);
      const value = fake.behaviour === 'stale' ? firstValues.get(request.key) : stored?.value;
      return {
        header: header(memberId, groupOf(request.key)),
        found: value !== undefined,
        kv: value && { key: request.key, value, version: stored?.version ?? 0n, modSequence: 1n },
      };
    }),
    delete: kit.unary(notImplemented('Delete')),
    batchGet: kit.unary(notImplemented('BatchGet')),
    scan: kit.unary(notImplemented('Scan')),
    batchPut: kit.unary(notImplemented('BatchPut')),
    txn: kit.unary(notImplemented('Txn')),
    locate: kit.unary(notImplemented('Locate')),
  });
  const server = await serve((kit) => ({ definition: kvV1.KVService, implementation: implementation(kit) }));
  const fake: FakeRouter = {
    address: server.address,
    behaviour: 'serve',
    putKeys: [],
    duringPut: undefined,
    nextPut: () => new Promise<void>((resolve) => putWaiters.push(resolve)),
    release: () => {
      const waiting = held;
      held = [];
      for (const resolve of waiting) resolve();
    },
    stop: () => {
      fake.release();
      return server.stop();
    },
  };
  return fake;
}

/** What the fake lock service does with TryAcquire. */
export type FakeLockBehaviour =
  /** Grants a free lock, refuses a held one naming its holder. */
  | 'serve'
  /** Refuses every lock: another owner holds them all. */
  | 'taken';

export interface FakeLockService {
  readonly address: string;
  behaviour: FakeLockBehaviour;
  /** Every TryAcquire received, in order. */
  readonly tryAcquires: lockV1.TryAcquireRequest[];
  /** Every Release received, in order. */
  readonly releases: lockV1.ReleaseRequest[];
  /** Names held now. */
  held(): string[];
  /** Grants name to owner as if a TryAcquire had (one whose answer was lost, say). */
  grant(name: string, owner: string): void;
  stop(): Promise<void>;
}

export const fakeOtherOwner = 'someone-else';

export async function serveFakeLockService(memberId: string): Promise<FakeLockService> {
  const grants = new Map<string, { owner: string; token: bigint; leaseId: string }>();
  let lastToken = 0n;
  const implementation = (kit: HandlerKit): lockV1.LockServer => ({
    tryAcquire: kit.unary((request: lockV1.TryAcquireRequest): lockV1.TryAcquireResponse => {
      fake.tryAcquires.push(request);
      const holder =
        fake.behaviour === 'taken' ? { owner: fakeOtherOwner, token: 41n, leaseId: 'other' } : grants.get(request.name);
      if (holder) {
        return {
          header: header(memberId, ''),
          acquired: false,
          token: 0n,
          holder: { owner: holder.owner, token: holder.token, remainingTtlMs: 4_000 },
          validForMs: 0,
          leaseId: '',
        };
      }
      lastToken += 1n;
      const grant = { owner: request.owner, token: lastToken, leaseId: `lease-${lastToken}` };
      grants.set(request.name, grant);
      return {
        header: header(memberId, ''),
        acquired: true,
        token: grant.token,
        holder: undefined,
        validForMs: request.ttlMs,
        leaseId: grant.leaseId,
      };
    }),
    release: kit.unary((request: lockV1.ReleaseRequest): lockV1.ReleaseResponse => {
      fake.releases.push(request);
      const grant = grants.get(request.name);
      if (
        !grant ||
        grant.owner !== request.owner ||
        grant.token !== request.token ||
        // As lock.v1: an empty lease id releases by owner and token.
        (request.leaseId !== '' && grant.leaseId !== request.leaseId)
      ) {
        throw new FailedPreconditionError('token', `${request.name} is not held by this grant`);
      }
      grants.delete(request.name);
      return { header: header(memberId, '') };
    }),
    acquire: kit.unary(notImplemented('Acquire')),
    refresh: kit.unary(notImplemented('Refresh')),
    inspect: kit.unary(notImplemented('Inspect')),
    hold: kit.bidiStream(async () => notImplemented('Hold')()),
  });
  const server = await serve((kit) => ({ definition: lockV1.LockService, implementation: implementation(kit) }));
  const fake: FakeLockService = {
    address: server.address,
    behaviour: 'serve',
    tryAcquires: [],
    releases: [],
    held: () => [...grants.keys()],
    grant: (name, owner) => {
      lastToken += 1n;
      grants.set(name, { owner, token: lastToken, leaseId: `lease-${lastToken}` });
    },
    stop: server.stop,
  };
  return fake;
}

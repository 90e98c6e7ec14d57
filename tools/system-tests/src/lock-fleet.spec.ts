// The lock issue's acceptance on the fleet users run: docker-compose.yml
// through the launcher (3 Redis servers, 2 lock-service instances, the
// routers and replica groups that check fences). 50 contenders keep a
// counter in the KV store under one lock with its token as the fence; Redis
// servers die and come back; a lock-service instance dies with locks held
// and waiters queued; a holder is paused past its TTL and its write with
// the old token is refused when it resumes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildSync } from 'esbuild';
import { coordinatorV1, kvV1, lockV1 } from '@bulwark/contracts';
import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { callUnary, createClient, defaultRetryPolicy, realRetryEnvironment, withRetry } from '@bulwark/rpc';
import { repoPath, repoRoot } from '@bulwark/testing';
import { eventually } from './support/eventually';

const subnet = '127.77.80';
// Below the kernel's ephemeral range (32768-60999): no outgoing connection holds these ports.
const portOffset = 16_000;
const { Consistency } = kvV1;

/** Calls again (with backoff) after UNAVAILABLE, as a client would: nothing was granted, and it may ask again. */
function retryingUnavailable<T>(call: () => Promise<T>): Promise<T> {
  return withRetry(call, defaultRetryPolicy, {
    ...realRetryEnvironment(60_000),
    shouldRetry: (error) => error instanceof UnavailableError,
  });
}

describe('locks on the compose fleet', () => {
  let launched: ComposeFleet;
  let locks: lockV1.LockClient[];
  let router: kvV1.KVClient;
  let coordinators: coordinatorV1.CoordinatorClient[];
  let scratch: string;

  const acquire = (client: lockV1.LockClient, request: lockV1.AcquireRequest) =>
    callUnary(client, client.acquire, request, { deadlineMs: request.waitTimeoutMs + 10_000 });
  const release = (client: lockV1.LockClient, name: string, owner: string, token: bigint, leaseId = '') =>
    callUnary(client, client.release, { name, owner, token, leaseId }, { deadlineMs: 10_000 });
  const inspect = (client: lockV1.LockClient, name: string) =>
    callUnary(client, client.inspect, { name }, { deadlineMs: 10_000 });
  const fencedPut = (key: string, value: string, lockName: string, token: bigint) =>
    callUnary(
      router,
      router.put,
      {
        key,
        value: Buffer.from(value),
        expectedVersion: undefined,
        durability: kvV1.Durability.DURABILITY_UNSPECIFIED,
        fence: { lockName, token },
        requestId: '',
      },
      { deadlineMs: 20_000 },
    );
  const strongGet = (key: string) =>
    callUnary(
      router,
      router.get,
      { key, consistency: Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 },
      { deadlineMs: 20_000 },
    );

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'bulwark-lock-fleet-'));
    launched = await launchComposeFleet(repoPath('docker-compose.yml'), {
      subnet,
      projectDir: repoRoot,
      portOffset,
      readyTimeoutMs: 120_000,
    });
    locks = ['lock-1', 'lock-2'].map((name) => createClient(lockV1.LockClient, launched.address(name, 7300)));
    router = createClient(kvV1.KVClient, launched.address('router-1', 7200));
    coordinators = ['coordinator-1', 'coordinator-2', 'coordinator-3'].map((name) =>
      createClient(coordinatorV1.CoordinatorClient, launched.address(name, 7001)),
    );
    // Fenced writes need every group to have a primary.
    await eventually('three groups with primaries', 60_000, async () => {
      const answer = await Promise.any(
        coordinators.map((client) => callUnary(client, client.getTopology, {}, { deadlineMs: 1_000 })),
      );
      const groups = answer.topology?.groups ?? [];
      return groups.length === 3 && groups.every((group) => group.primary !== '') ? true : undefined;
    });
  }, 180_000);

  afterAll(async () => {
    for (const client of [...(locks ?? []), ...(coordinators ?? [])]) client.close();
    router?.close();
    await launched?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('serves on 3 Redis servers, fault tolerant, and says so in Inspect', async () => {
    const view = await inspect(locks[0] as lockV1.LockClient, 'fleet/inspect');
    expect(view.backend).toEqual({
      kind: lockV1.BackendKind.BACKEND_KIND_REDIS,
      servers: 3,
      majority: 2,
      answered: 3,
      faultTolerant: true,
      unanswered: [],
    });
  });

  it('lets 50 contenders through both instances keep a fenced counter: 1,000 grants, no lost increment, tokens strictly increasing', async () => {
    const lockName = 'fleet/counter';
    const key = 'fleet/counter-value';
    const grantsWanted = 1_000;
    const grants: Array<{ token: bigint; contender: number; sentAt: number; grantedAt: number }> = [];
    let increments = 0;
    const contender = async (index: number) => {
      const client = locks[index % 2] as lockV1.LockClient;
      const owner = `contender-${index}`;
      while (grants.length < grantsWanted) {
        const sentAt = grants.length;
        // As a client would: a call that found no majority in time (a loaded machine) is asked again.
        const grant = await retryingUnavailable(() =>
          acquire(client, { name: lockName, owner, ttlMs: 10_000, waitTimeoutMs: 60_000 }),
        );
        if (!grant.acquired) throw new Error(`${owner} waited 60 s without the lock`);
        grants.push({ token: grant.token, contender: index, sentAt, grantedAt: grants.length });
        const current = await strongGet(key);
        const value = current.found ? Number(current.kv?.value.toString()) : 0;
        await fencedPut(key, String(value + 1), lockName, grant.token);
        increments += 1;
        await retryingUnavailable(() => release(client, lockName, owner, grant.token)).catch((error: unknown) => {
          // A retried release whose first try was applied finds the lock no longer ours: released all the same.
          if (!(error instanceof FailedPreconditionError)) throw error;
        });
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, index) => contender(index)));

    const final = await strongGet(key);
    expect(Number(final.kv?.value.toString())).toBe(increments);
    expect(grants.length).toBeGreaterThanOrEqual(grantsWanted);
    const tokens = grants.map((grant) => grant.token);
    for (let index = 1; index < tokens.length; index += 1) {
      expect(tokens[index]).toBeGreaterThan(tokens[index - 1] as bigint);
    }
    // Arrival order: while one contender waited, each other one was granted a bounded number of times.
    const bypassed = grants.map((grant) => grant.grantedAt - grant.sentAt);
    expect(Math.max(...bypassed)).toBeLessThan(2 * 50);
  }, 300_000);

  it('keeps granting with increasing tokens when one of 3 Redis servers dies and returns, and refuses with UNAVAILABLE when two are gone', async () => {
    const client = locks[0] as lockV1.LockClient;
    const name = 'fleet/redis-loss';
    const cycle = async (owner: string) => {
      const grant = await acquire(client, { name, owner, ttlMs: 10_000, waitTimeoutMs: 10_000 });
      expect(grant.acquired).toBe(true);
      await release(client, name, owner, grant.token);
      return grant.token;
    };
    const tokens = [await cycle('before')];
    await launched.fleet.kill('redis-1', 'SIGKILL');
    for (let index = 0; index < 5; index += 1) tokens.push(await cycle(`one-down-${index}`));
    launched.fleet.start('redis-1');
    await launched.fleet.waitHealthy(30_000, ['redis-1']);
    for (let index = 0; index < 5; index += 1) tokens.push(await cycle(`back-${index}`));
    for (let index = 1; index < tokens.length; index += 1) {
      expect(tokens[index]).toBeGreaterThan(tokens[index - 1] as bigint);
    }

    await launched.fleet.kill('redis-1', 'SIGKILL');
    await launched.fleet.kill('redis-2', 'SIGKILL');
    await expect(
      acquire(client, { name, owner: 'two-down', ttlMs: 10_000, waitTimeoutMs: 1_000 }),
    ).rejects.toMatchObject({ kind: 'unavailable' });
    launched.fleet.start('redis-1');
    launched.fleet.start('redis-2');
    await launched.fleet.waitHealthy(30_000, ['redis-1', 'redis-2']);
    // Nothing was granted while two were down: the next token follows the last one granted.
    const after = await eventually('a grant with two servers back', 20_000, async () => cycle('after'));
    expect(after).toBeGreaterThan(tokens[tokens.length - 1] as bigint);
    expect((await inspect(client, name)).lastToken).toBe(after);
  }, 120_000);

  it("serves a dead instance's locks from the other: release, expiry and waiters", async () => {
    const [first, second] = locks as [lockV1.LockClient, lockV1.LockClient];
    const released = await acquire(first, { name: 'fleet/by-release', owner: 'a', ttlMs: 60_000, waitTimeoutMs: 0 });
    const expiring = await acquire(first, { name: 'fleet/by-expiry', owner: 'b', ttlMs: 2_000, waitTimeoutMs: 0 });
    expect([released.acquired, expiring.acquired]).toEqual([true, true]);
    const waiter = acquire(second, { name: 'fleet/by-release', owner: 'c', ttlMs: 10_000, waitTimeoutMs: 30_000 });
    await eventually('c queued', 10_000, async () =>
      (await inspect(second, 'fleet/by-release')).waiters === 1 ? true : undefined,
    );
    await launched.fleet.kill('lock-1', 'SIGKILL');
    try {
      await release(second, 'fleet/by-release', 'a', released.token);
      // Tokens may skip (an attempt undone where it got in raised a fence), never repeat or go back.
      const waited = await waiter;
      expect(waited.acquired).toBe(true);
      expect(waited.token).toBeGreaterThan(released.token);
      const afterExpiry = await acquire(second, {
        name: 'fleet/by-expiry',
        owner: 'd',
        ttlMs: 10_000,
        waitTimeoutMs: 30_000,
      });
      expect(afterExpiry.acquired).toBe(true);
      expect(afterExpiry.token).toBeGreaterThan(expiring.token);
    } finally {
      launched.fleet.start('lock-1');
      await launched.fleet.waitHealthy(30_000, ['lock-1']);
    }
  }, 120_000);

  it('refuses the fenced write of a holder paused past its TTL, and its Hold stream reports the loss', async () => {
    const bundle = join(scratch, 'lock-holder-process.js');
    buildSync({
      entryPoints: [repoPath('tools/system-tests/src/support/lock-holder-process.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      tsconfig: repoPath('tsconfig.base.json'),
      logLevel: 'warning',
    });
    const lockName = 'fleet/paused';
    const key = 'fleet/paused-value';
    const holder: ChildProcessWithoutNullStreams = spawn(
      process.execPath,
      [bundle, launched.address('lock-2', 7300), launched.address('router-2', 7201), lockName, 'paused', '1000', key],
      { cwd: repoRoot, env: { ...process.env, NODE_PATH: repoPath('node_modules') } },
    );
    const lines: Array<Record<string, unknown>> = [];
    let notify: (() => void) | undefined;
    createInterface({ input: holder.stdout }).on('line', (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      notify?.();
    });
    const said = async (matches: (line: Record<string, unknown>) => boolean) => {
      for (;;) {
        const found = lines.find(matches);
        if (found) return found;
        if (holder.exitCode !== null) throw new Error(`the holder exited: ${JSON.stringify(lines)}`);
        await new Promise<void>((resolve) => (notify = resolve));
      }
    };
    try {
      const granted = await said((line) => 'granted' in line);
      const pausedToken = BigInt(granted['granted'] as string);
      holder.kill('SIGSTOP');
      const next = await acquire(locks[0] as lockV1.LockClient, {
        name: lockName,
        owner: 'successor',
        ttlMs: 10_000,
        waitTimeoutMs: 30_000,
      });
      expect(next.acquired).toBe(true);
      expect(next.token).toBeGreaterThan(pausedToken);
      await fencedPut(key, 'written by the successor', lockName, next.token);
      holder.kill('SIGCONT');
      expect(await said((line) => line['event'] === 'lost')).toEqual({
        event: 'lost',
        cause: lockV1.LossCause.LOSS_CAUSE_EXPIRED,
      });
      holder.stdin.write('write\n');
      expect(await said((line) => 'write' in line)).toMatchObject({
        write: 'refused',
        code: 9,
        details: expect.stringContaining('fence.token'),
      });
      expect((await strongGet(key)).kv?.value.toString()).toBe('written by the successor');
    } finally {
      holder.kill('SIGCONT');
      holder.stdin.end();
      if (holder.exitCode === null) holder.kill('SIGKILL');
    }
  }, 120_000);
});

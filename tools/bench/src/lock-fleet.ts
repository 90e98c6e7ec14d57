// The lock benchmark's fleet from tools/bench/fixtures/lock.compose.yml (3
// coordinators, redis-1..3, lock-1 and lock-2 on those Redis servers),
// launched by the launcher library, with one lock.v1 client (one gRPC
// channel) per lock-service instance and the CPU of the processes on the lock
// path. Ready once each instance's Inspect is answered by all 3 Redis servers.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { lockV1 } from '@bulwark/contracts';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { callUnary, createClient } from '@bulwark/rpc';
import { sampleCpu, type CpuSample } from './process-cpu';
import { profilingEnvironment, repoRoot } from './replica-fleet';

export const lockInstances = ['lock-1', 'lock-2'] as const;
export type LockInstance = (typeof lockInstances)[number];
const redisNames = ['redis-1', 'redis-2', 'redis-3'] as const;
const lockPort = 7300;
/** How long a fresh fleet's instances may take to reach all 3 Redis servers. */
const readyTimeoutMs = 60_000;
/** Between Inspects while an instance is still connecting. */
const retryPauseMs = 50;

export interface LockFleet {
  readonly launched: ComposeFleet;
  client(instance: LockInstance): lockV1.LockClient;
  /** CPU seconds so far of the lock instances and the Redis servers (the coordinators are not on the lock path). */
  cpu(): CpuSample;
  stop(): Promise<void>;
}

export const isLockInstance = (name: string) => (lockInstances as readonly string[]).includes(name);

export async function launchLockFleet(subnet: string): Promise<LockFleet> {
  const launched = await launchComposeFleet(join(repoRoot, 'tools/bench/fixtures/lock.compose.yml'), {
    subnet,
    projectDir: repoRoot,
    serviceEnvironment: ({ name }) => profilingEnvironment(name),
  });
  const clients = new Map<LockInstance, lockV1.LockClient>(
    lockInstances.map((name) => [name, createClient(lockV1.LockClient, launched.address(name, lockPort))] as const),
  );
  const onLockPath = new Set<string>([...lockInstances, ...redisNames]);
  const fleet: LockFleet = {
    launched,
    client: (instance) => clients.get(instance) as lockV1.LockClient,
    cpu: () =>
      sampleCpu(
        new Map(
          launched.fleet
            .services()
            .filter((service) => onLockPath.has(service.name))
            .map((service) => [service.name, service.pid] as const),
        ),
      ),
    stop: async () => {
      for (const client of clients.values()) client.close();
      await launched.stop();
    },
  };
  try {
    const running = new Set(launched.fleet.services().map((service) => service.name));
    const missing = [...onLockPath].filter((name) => !running.has(name));
    // The launcher skips Redis services when redis-server or redis-cli is not on PATH.
    if (missing.length > 0) throw new Error(`not running: ${missing.join(', ')} (redis-server and redis-cli on PATH?)`);
    for (const instance of lockInstances) await allRedisAnswer(instance, fleet.client(instance));
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

/** Inspects until all 3 Redis servers answer the instance; rejects with the last answer or error after readyTimeoutMs. */
async function allRedisAnswer(instance: LockInstance, client: lockV1.LockClient): Promise<void> {
  const deadline = performance.now() + readyTimeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const view = await callUnary(client, client.inspect, { name: 'bench/ready' }, { deadlineMs: 2_000 });
      const backend = view.backend;
      if (backend?.kind === lockV1.BackendKind.BACKEND_KIND_REDIS && backend.answered === redisNames.length) return;
      last = `backend ${JSON.stringify(backend)}`;
    } catch (error) {
      // Anything may fail while the instance is still connecting: try again until the deadline.
      last = String(error);
    }
    if (performance.now() > deadline) {
      throw new Error(
        `${instance} was not answered by all ${redisNames.length} Redis servers within ${readyTimeoutMs} ms (last: ${last})`,
      );
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, retryPauseMs));
  }
}

// The replica benchmarks' fleet: one replica group of 3 and its 3
// coordinators from the system tests' fixture compose files (or another
// compose file with those services and more, as the router bench's), launched
// by the launcher library, with a shard.v1 client per replica, the group
// record as the coordinators' leader has it, and the CPU of every process.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { coordinatorV1, shardV1 } from '@bulwark/contracts';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { callUnary, createClient } from '@bulwark/rpc';
import { OperateStream } from '@bulwark/router-server';
import { sampleCpu, type CpuSample } from './process-cpu';

export const repoRoot = resolve(__dirname, '../../..');
export const groupId = 'group-a';
export const replicaNames = ['replica-1', 'replica-2', 'replica-3'] as const;
const coordinatorNames = ['coordinator-1', 'coordinator-2', 'coordinator-3'] as const;
/** How often a wait asks the coordinators again. */
const pollMs = 20;

export type GroupMode = 'sync' | 'async';

export interface ReplicaFleet {
  readonly launched: ComposeFleet;
  readonly shards: ReadonlyMap<string, shardV1.ShardClient>;
  /** The group record from GetTopology at the coordinators' leader (linearizable). */
  group(): Promise<coordinatorV1.ReplicaGroup>;
  /** The group record once it satisfies `ready`, asked every 20 ms; rejects after timeoutMs naming `what`. */
  groupWhen(
    what: string,
    timeoutMs: number,
    ready: (group: coordinatorV1.ReplicaGroup) => boolean,
  ): Promise<coordinatorV1.ReplicaGroup>;
  shard(member: string): shardV1.ShardClient;
  /** A new Operate stream to a member. */
  openOperate(member: string): OperateStream;
  /** CPU seconds so far of every process of the fleet (replicas, coordinators and any other service), by name. */
  cpu(): CpuSample;
  stop(): Promise<void>;
}

/**
 * With BULWARK_BENCH_PROFILE_DIR set, every Node service of the fleet writes
 * a V8 CPU profile to <dir>/<service>/<pid>.cpuprofile when it stops (see
 * tools/bench/profiling/cpu-profile.js; open one in Chrome's DevTools or
 * speedscope): where a benchmark's server time goes.
 */
export function profilingEnvironment(service: string): Record<string, string> {
  const dir = process.env['BULWARK_BENCH_PROFILE_DIR'];
  if (!dir) return {};
  // Made now, so a directory that cannot be is one clear error before the run, not a profile lost at its end.
  try {
    mkdirSync(join(resolve(dir), service), { recursive: true });
  } catch (error) {
    throw new Error(`BULWARK_BENCH_PROFILE_DIR: cannot create ${join(resolve(dir), service)}: ${String(error)}`);
  }
  return {
    NODE_OPTIONS: `--require ${join(repoRoot, 'tools/bench/profiling/cpu-profile.js')}`,
    BULWARK_CPU_PROFILE_DIR: join(resolve(dir), service),
  };
}

const pause = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));

/** Launched and healthy, with a primary and all 3 members in sync. */
export function launchReplicaFleet(mode: GroupMode, subnet: string): Promise<ReplicaFleet> {
  const file = mode === 'sync' ? 'replica-group.compose.yml' : 'replica-group-async.compose.yml';
  return launchReplicaFleetFrom(join(repoRoot, 'tools/system-tests/fixtures', file), subnet);
}

/**
 * The fleet of composeFile, which runs coordinator-1..3 (port 7001) and
 * group-a's replica-1..3 (port 7100) and may run other services: launched
 * and healthy, with a primary and all 3 members in sync.
 */
export async function launchReplicaFleetFrom(composeFile: string, subnet: string): Promise<ReplicaFleet> {
  const launched = await launchComposeFleet(composeFile, {
    subnet,
    projectDir: repoRoot,
    serviceEnvironment: ({ name }) => profilingEnvironment(name),
  });
  const shards = new Map<string, shardV1.ShardClient>(
    replicaNames.map((name) => [name, createClient(shardV1.ShardClient, launched.address(name, 7100))] as const),
  );
  const coordinators = coordinatorNames.map((name) =>
    createClient(coordinatorV1.CoordinatorClient, launched.address(name, 7001)),
  );
  const group = async () => {
    // Only the leader answers GetTopology; the others refuse at once.
    const topology = await Promise.any(
      coordinators.map((client) => callUnary(client, client.getTopology, {}, { deadlineMs: 1_000 })),
    );
    const found = topology.topology?.groups.find((candidate) => candidate.id === groupId);
    if (!found) throw new Error(`no group ${groupId} in the topology yet`);
    return found;
  };
  const groupWhen = async (
    what: string,
    timeoutMs: number,
    ready: (candidate: coordinatorV1.ReplicaGroup) => boolean,
  ): Promise<coordinatorV1.ReplicaGroup> => {
    const deadline = performance.now() + timeoutMs;
    let last = 'no answer';
    for (;;) {
      try {
        const candidate = await group();
        if (ready(candidate)) return candidate;
        last = `epoch ${candidate.epoch}, primary '${candidate.primary}', in sync [${candidate.inSync.join(', ')}]`;
      } catch (error) {
        last = String(error instanceof AggregateError ? error.errors[0] : error);
      }
      if (performance.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms (last: ${last})`);
      await pause(pollMs);
    }
  };
  const shard = (member: string) => {
    const client = shards.get(member);
    if (!client) throw new Error(`no replica ${member}`);
    return client;
  };
  const fleet: ReplicaFleet = {
    launched,
    shards,
    group,
    groupWhen,
    shard,
    openOperate: (member) => new OperateStream(shard(member).operate()),
    cpu: () => sampleCpu(new Map(launched.fleet.services().map((service) => [service.name, service.pid] as const))),
    stop: async () => {
      for (const client of [...shards.values(), ...coordinators]) client.close();
      await launched.stop();
    },
  };
  try {
    await groupWhen(
      'a primary with 3 members in sync',
      60_000,
      (candidate) => candidate.primary !== '' && candidate.inSync.length === 3,
    );
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

// The local 3-coordinator cluster, run by the launcher library: leader
// failover time over repeated kill -9 of the leader, and metadata command
// throughput and latency at several numbers of commands in flight.
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { coordinatorV1 } from '@bulwark/contracts';
import { isRetryable, NotLeaderError } from '@bulwark/errors';
import { launchComposeFleet, type Fleet } from '@bulwark/fleet';
import { callUnary, createClient } from '@bulwark/rpc';
import { measureFollowerCatchUp } from './coordinator-catch-up';
import { startRegistrationLoad } from './registration-load';
import type { BenchTable } from './table';

const repoRoot = resolve(__dirname, '../../..');
const failoverKills = 10;
const commandsPerLevel = 2_000;
const inFlightLevels = [1, 16, 64];

interface Cluster {
  fleet: Fleet;
  clients: Map<string, coordinatorV1.CoordinatorClient>;
  alive: Set<string>;
}

function percentile(sortedMs: number[], fraction: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor(sortedMs.length * fraction))] ?? 0;
}

async function register(cluster: Cluster, id: string, address: string, deadlineMs: number): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    for (const name of cluster.alive) {
      const client = cluster.clients.get(name) as coordinatorV1.CoordinatorClient;
      try {
        await callUnary(
          client,
          client.registerMember,
          {
            member: { id, address, role: coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER, groupId: '', metricsAddress: '' },
            requestId: '',
          },
          { deadlineMs: 1_000 },
        );
        return;
      } catch (error) {
        if (!(error instanceof NotLeaderError) && !isRetryable(error)) throw error;
      }
    }
    if (performance.now() > deadline) throw new Error(`no coordinator accepted a write within ${deadlineMs} ms`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
  }
}

async function leaderOf(cluster: Cluster): Promise<string> {
  for (;;) {
    for (const name of cluster.alive) {
      const client = cluster.clients.get(name) as coordinatorV1.CoordinatorClient;
      const answer = await callUnary(client, client.getLeader, {}, { deadlineMs: 1_000 }).catch(() => undefined);
      if (answer?.leaderId && cluster.alive.has(answer.leaderId)) return answer.leaderId;
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 5));
  }
}

async function measureFailovers(cluster: Cluster): Promise<number[]> {
  const timesMs: number[] = [];
  for (let kill = 0; kill < failoverKills; kill++) {
    await register(cluster, `failover-${kill}`, `127.0.0.1:${20_000 + kill}`, 10_000);
    const leader = await leaderOf(cluster);
    await cluster.fleet.kill(leader, 'SIGKILL');
    const killedAt = performance.now();
    cluster.alive.delete(leader);
    await register(cluster, `after-${kill}`, `127.0.0.1:${21_000 + kill}`, 10_000);
    timesMs.push(performance.now() - killedAt);
    cluster.fleet.start(leader);
    await cluster.fleet.waitHealthy(30_000, [leader]);
    cluster.alive.add(leader);
  }
  return timesMs;
}

async function measureThroughput(cluster: Cluster, inFlight: number): Promise<(string | number)[]> {
  const leader = await leaderOf(cluster);
  const client = cluster.clients.get(leader) as coordinatorV1.CoordinatorClient;
  const started = performance.now();
  const load = startRegistrationLoad(client, {
    inFlight,
    commands: commandsPerLevel,
    idPrefix: 'bench',
    portBase: 30_000,
  });
  await load.done;
  const elapsedS = (performance.now() - started) / 1_000;
  const latenciesMs = [...load.latenciesMs].sort((a, b) => a - b);
  return [
    inFlight,
    commandsPerLevel,
    Math.round(commandsPerLevel / elapsedS),
    Number(percentile(latenciesMs, 0.5).toFixed(2)),
    Number(percentile(latenciesMs, 0.99).toFixed(2)),
  ];
}

export async function runCoordinatorBench(): Promise<BenchTable[]> {
  const launched = await launchComposeFleet(join(repoRoot, 'tools/system-tests/fixtures/coordinators-3.compose.yml'), {
    subnet: '127.77.60',
    projectDir: repoRoot,
  });
  const { fleet } = launched;
  const names = fleet.services().map((service) => service.name);
  const cluster: Cluster = {
    fleet,
    clients: new Map(
      names.map((name) => [name, createClient(coordinatorV1.CoordinatorClient, launched.address(name, 7001))]),
    ),
    alive: new Set(names),
  };
  try {
    const throughputRows = [];
    for (const level of inFlightLevels) throughputRows.push(await measureThroughput(cluster, level));
    const catchUp = await measureFollowerCatchUp(fleet, cluster.clients, await leaderOf(cluster));
    const failovers = await measureFailovers(cluster);
    const sorted = [...failovers].sort((a, b) => a - b);
    return [
      {
        title: `Coordinator leader failover: kill -9 of the leader until a write commits (3 nodes, ${failoverKills} kills)`,
        columns: ['kills', 'median ms', 'max ms', 'min ms'],
        rows: [
          [
            failovers.length,
            Math.round(percentile(sorted, 0.5)),
            Math.round(sorted.at(-1) ?? 0),
            Math.round(sorted[0] ?? 0),
          ],
        ],
      },
      {
        title: 'Coordinator metadata commands (RegisterMember through the leader, 3 nodes, fsync per batch)',
        columns: ['in flight', 'commands', 'commands/s', 'p50 ms', 'p99 ms'],
        rows: throughputRows,
      },
      {
        title: 'Follower kill -9 and restart under 64 commands in flight: time to apply what it missed',
        columns: ['missed revisions', 'start to healthy ms', 'start to caught up ms', 'load commands/s'],
        rows: [
          [catchUp.missedRevisions, catchUp.startToHealthyMs, catchUp.startToCaughtUpMs, catchUp.loadCommandsPerS],
        ],
      },
    ];
  } finally {
    for (const client of cluster.clients.values()) client.close();
    await launched.stop();
  }
}

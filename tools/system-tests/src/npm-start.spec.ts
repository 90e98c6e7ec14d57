// What a user does: `npm start` runs the fleet of docker-compose.yml as local
// processes; every service becomes healthy and reachable on its published
// port; the replica groups create themselves and join the ring; every
// service serves its Prometheus metrics on its published metrics port;
// Ctrl-C (SIGINT to the process group) stops it, leaving no process; a
// second `npm start` on the same data finds what was written.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { coordinatorV1, kvV1, lockV1 } from '@bulwark/contracts';
import { findProcessesWithEnv, fleetIdVariable, isRunning } from '@bulwark/fleet';
import { samplesOf, scrapeMetrics, valueOf, type Scrape } from '@bulwark/metrics/testing';
import { callUnary, createClient } from '@bulwark/rpc';
import {
  baseEnv,
  killAllProcesses,
  repoRoot,
  runReflectionCheck,
  startProcess,
  waitForServing,
  type ManagedProcess,
} from '@bulwark/testing';
import { eventually } from './support/eventually';
import { expectServiceMetrics, metricsPublished, sumOf } from './support/fleet-metrics';

// Away from the defaults so a user's own fleet on this machine is never touched.
const subnet = '127.77.31';
// Published ports land at 21001-21400 and 23101-23141 (no other test's): below the kernel's ephemeral range
// (32768-60999), where a client's outgoing connection could hold a port the fleet wants to listen on.
const portOffset = 14_000;

/** The topology once every replica group has a primary and the ring holds them all. */
function groupsReady(): Promise<coordinatorV1.Topology> {
  const clients = [7001, 7002, 7003].map((port) =>
    createClient(coordinatorV1.CoordinatorClient, `127.0.0.1:${port + portOffset}`),
  );
  return eventually('three groups on the ring', 60_000, async () => {
    const answer = await Promise.any(
      clients.map((client) => callUnary(client, client.getTopology, {}, { deadlineMs: 1_000 })),
    );
    const topology = answer.topology;
    const ringGroups = topology?.ring?.groups.map((group) => group.groupId).sort();
    const withPrimary = topology?.groups.filter((group) => group.primary !== '').length ?? 0;
    return withPrimary === 3 && ringGroups?.join() === 'group-a,group-b,group-c' ? topology : undefined;
  }).finally(() => clients.forEach((client) => client.close()));
}

/** Every service's metrics at its published metrics port, as Prometheus on the host reaches them. */
async function scrapeFleet(): Promise<Map<string, Scrape>> {
  const scrapes = new Map<string, Scrape>();
  for (const { name, port } of metricsPublished)
    scrapes.set(name, await scrapeMetrics(`127.0.0.1:${port + portOffset}`));
  return scrapes;
}

/** The scrapes of the named services. */
function scrapesOf(scrapes: Map<string, Scrape>, names: readonly string[]): Scrape[] {
  return names.map((name) => scrapes.get(name) as Scrape);
}

/**
 * The fleet's metrics once its state has settled: one Paxos leader, and in
 * each group one primary that reports its in-sync set and its two backups'
 * lag (a group's primary starts its epoch a moment after the coordinators
 * name it).
 */
function settledMetrics(): Promise<Map<string, Scrape>> {
  return eventually('one leader and a primary per group in the metrics', 30_000, async () => {
    const scrapes = await scrapeFleet();
    const coordinators = scrapesOf(scrapes, ['coordinator-1', 'coordinator-2', 'coordinator-3']);
    if (sumOf(coordinators, 'bulwark_paxos_is_leader') !== 1) return undefined;
    for (const group of ['a', 'b', 'c']) {
      const members = scrapesOf(
        scrapes,
        [1, 2, 3].map((index) => `replica-${group}${index}`),
      );
      const labels = { group: `group-${group}` };
      if (sumOf(members, 'bulwark_replica_is_primary', labels) !== 1) return undefined;
      if (members.flatMap((scrape) => samplesOf(scrape, 'bulwark_replication_lag_entries', labels)).length !== 2) {
        return undefined;
      }
    }
    return scrapes;
  });
}

/** `npx bulwark ARGS` from the repository root: its exit code and standard output. */
function bulwark(args: readonly string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) =>
    execFile('npx', ['bulwark', ...args], { cwd: repoRoot, timeout: 60_000 }, (error, stdout) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout }),
    ),
  );
}

/** A kv.v1 client of a router at its published port, as a user reaches it. */
function routerAt(port: number): kvV1.KVClient {
  return createClient(kvV1.KVClient, `127.0.0.1:${port + portOffset}`);
}

describe('npm start', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'bulwark-npm-start-'));
  const fleetId = `npm-start-${randomUUID()}`;

  afterAll(async () => {
    await killAllProcesses();
    for (const pid of findProcessesWithEnv(fleetIdVariable, fleetId)) process.kill(pid, 'SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  const launch = (): ManagedProcess =>
    startProcess({
      command: 'npm',
      args: ['start'],
      detached: true,
      env: {
        ...baseEnv(),
        NX_DAEMON: 'false',
        BULWARK_LAUNCH_SUBNET: subnet,
        BULWARK_LAUNCH_PORT_OFFSET: String(portOffset),
        BULWARK_LAUNCH_STATE_DIR: stateDir,
        // 20 services starting on 2 cores, beside another fleet test: more than a user's 60 s may pass.
        BULWARK_LAUNCH_READY_TIMEOUT_MS: '150000',
        [fleetIdVariable]: fleetId,
      },
    });

  /** The Redis servers' pids from the table: they are found by pid only (see findProcessesWithEnv). */
  const redisPids = (launcher: ManagedProcess): number[] =>
    [...launcher.output().matchAll(/^redis-\d\s+(\d+)\s/gm)].map((match) => Number(match[1]));

  const stopWithCtrlC = async (launcher: ManagedProcess) => {
    const redis = redisPids(launcher);
    expect(redis).toHaveLength(3);
    launcher.signalGroup('SIGINT');
    const exit = await launcher.waitForExit(60_000);
    expect(exit.code).toBe(0);
    expect(launcher.output()).toMatch(/"msg":"fleet stopped"/);
    expect(findProcessesWithEnv(fleetIdVariable, fleetId)).toEqual([]);
    expect(redis.filter(isRunning)).toEqual([]);
  };

  it('runs the compose fleet healthy, creates its groups, and Ctrl-C leaves no process behind', async () => {
    const launcher = launch();
    await launcher.waitForLine((line) => line.includes('fleet ready'), 180_000);
    const table = launcher.output();
    for (const service of [
      'coordinator-1',
      'coordinator-2',
      'coordinator-3',
      ...['a', 'b', 'c'].flatMap((group) => [1, 2, 3].map((index) => `replica-${group}${index}`)),
    ]) {
      expect(table).toMatch(new RegExp(`^${service}\\s.*healthy`, 'm'));
    }
    for (const service of ['router-1', 'router-2', 'lock-1', 'lock-2', 'monitor-1', 'monitor-2'])
      expect(table).toMatch(new RegExp(`^${service}\\s.*healthy`, 'm'));
    // From the machine's redis-server, each on its own address and no published port.
    for (const service of ['redis-1', 'redis-2', 'redis-3'])
      expect(table).toMatch(
        new RegExp(`^${service}\\s+\\d+\\s+${subnet.replaceAll('.', '\\.')}\\.\\d+:6379\\s+-\\s+healthy`, 'm'),
      );
    expect(table).toMatch(/^jaeger\s.*skipped/m);
    expect(table).toMatch(/^prometheus\s.*skipped/m);
    // What to open in a browser, where it was published: each monitor's dashboard, which answers with its page.
    expect(table).toContain(
      [
        'open in a browser:',
        `  monitor-1 dashboard   http://127.0.0.1:${8080 + portOffset}/`,
        `  monitor-2 dashboard   http://127.0.0.1:${8081 + portOffset}/`,
      ].join('\n'),
    );
    const dashboard = await fetch(`http://127.0.0.1:${8080 + portOffset}/`);
    expect([dashboard.status, dashboard.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);

    // Reachable as Docker publishes them: 127.0.0.1 and the published port (plus the test's offset).
    for (const port of [7001, 7002, 7003, 7200, 7201, 7300, 7301, 7400, 7401]) {
      await waitForServing(`127.0.0.1:${port + portOffset}`, 10_000);
    }
    // The launcher and the eighteen Bulwark services; redis-server writes its title over the environment read here.
    expect(findProcessesWithEnv(fleetIdVariable, fleetId).length).toBeGreaterThanOrEqual(19);

    // Once the groups are on the ring, a router answers: list, describe and a call by reflection, as grpcurl does.
    await groupsReady();
    const reflection = await runReflectionCheck(`127.0.0.1:${7200 + portOffset}`, ['kv.v1.KV/Get={"key":"a"}']);
    expect(reflection.output).toContain('ok kv.v1.KV');
    expect(reflection.code).toBe(0);
    const router = routerAt(7200);
    const put = await eventually('a write through router-1', 30_000, () =>
      callUnary(
        router,
        router.put,
        { key: 'kept', value: Buffer.from('across restarts'), durability: 0, fence: undefined, requestId: '' },
        { deadlineMs: 5_000 },
      ),
    );
    router.close();
    expect(put.succeeded).toBe(true);

    // The CLI as a user runs it, from the repository, on the routers' published ports.
    const endpoints = `127.0.0.1:${7200 + portOffset},127.0.0.1:${7201 + portOffset}`;
    expect(await bulwark(['--endpoints', endpoints, 'put', 'a', '1'])).toEqual({ code: 0, stdout: 'OK (version 1)\n' });
    expect(await bulwark(['--endpoints', endpoints, 'get', 'a'])).toEqual({ code: 0, stdout: '1\n' });

    // A grant through lock-1, which its metrics count.
    const lock = createClient(lockV1.LockClient, `127.0.0.1:${7300 + portOffset}`);
    const grant = await callUnary(
      lock,
      lock.tryAcquire,
      { name: 'metrics', owner: 'npm-start', ttlMs: 10_000 },
      { deadlineMs: 10_000 },
    ).finally(() => lock.close());
    expect(grant.acquired).toBe(true);

    // Every service serves Prometheus text at its published metrics port, from its own address's 9464.
    const scrapes = await settledMetrics();
    for (const { name, kind } of metricsPublished) {
      const scrape = scrapes.get(name) as Scrape;
      expect([name, scrape.contentType]).toEqual([name, 'text/plain; version=0.0.4; charset=utf-8']);
      expectServiceMetrics(name, kind, scrape);
      const subnetPattern = subnet.replaceAll('.', '\\.');
      expect(launcher.output()).toMatch(
        new RegExp(
          `^${name}\\s+\\| .*"address":"${subnetPattern}\\.\\d+:9464","path":"/metrics","msg":"serving metrics"`,
          'm',
        ),
      );
    }
    for (const name of ['coordinator-1', 'coordinator-2', 'coordinator-3']) {
      const scrape = scrapes.get(name) as Scrape;
      expect([name, valueOf(scrape, 'bulwark_paxos_ballot_round') >= 1]).toEqual([name, true]);
      // Registrations, groups and the ring are committed commands.
      expect([name, valueOf(scrape, 'bulwark_paxos_committed_slots_total') >= 1]).toEqual([name, true]);
      expect([name, valueOf(scrape, 'bulwark_paxos_applied_slot') >= 1]).toEqual([name, true]);
    }
    for (const { name, kind } of metricsPublished.filter((service) => service.kind === 'replica')) {
      const scrape = scrapes.get(name) as Scrape;
      const group = { group: `group-${name.slice('replica-'.length, -1)}` };
      expect([name, kind, valueOf(scrape, 'bulwark_replica_epoch', group) >= 1]).toEqual([name, kind, true]);
      // Every member has fsynced its epoch's first entry at least.
      expect([name, valueOf(scrape, 'bulwark_wal_fsync_seconds_count') >= 1]).toEqual([name, true]);
      expect([name, valueOf(scrape, 'bulwark_wal_group_commit_entries_count') >= 1]).toEqual([name, true]);
      if (valueOf(scrape, 'bulwark_replica_is_primary', group) === 1) {
        expect([name, valueOf(scrape, 'bulwark_replication_in_sync_members', group)]).toEqual([name, 3]);
        expect(samplesOf(scrape, 'bulwark_replication_lag_seconds', group)).toHaveLength(2);
      }
    }
    const kvPuts = { grpc_service: 'kv.v1.KV', grpc_method: 'Put', grpc_code: 'OK' };
    expect(sumOf(scrapesOf(scrapes, ['router-1', 'router-2']), 'grpc_server_handled_total', kvPuts)).toBeGreaterThan(0);
    for (const name of ['router-1', 'router-2']) {
      expect(samplesOf(scrapes.get(name) as Scrape, 'bulwark_router_retries_total')).toHaveLength(7);
    }
    // The monitors' canaries take locks too: the grant above is one of those counted.
    const lockOne = scrapes.get('lock-1') as Scrape;
    expect(valueOf(lockOne, 'bulwark_lock_grants_total', { method: 'TryAcquire' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(lockOne, 'bulwark_lock_waiters')).toBeGreaterThanOrEqual(0);
    expect(valueOf(lockOne, 'bulwark_lock_queue_length_max')).toBeGreaterThanOrEqual(0);
    await stopWithCtrlC(launcher);
  }, 240_000);

  it('keeps the data across a restart of the whole fleet', async () => {
    const launcher = launch();
    await launcher.waitForLine((line) => line.includes('fleet ready'), 180_000);
    const topology = await groupsReady();
    const router = routerAt(7201);
    const value = await eventually('the value written before the restart, through router-2', 30_000, async () => {
      const get = await callUnary(
        router,
        router.get,
        { key: 'kept', consistency: kvV1.Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 },
        { deadlineMs: 5_000 },
      );
      return get.found ? Buffer.from(get.kv?.value ?? []).toString() : undefined;
    }).finally(() => router.close());
    expect(value).toBe('across restarts');
    expect(topology.groups.map((group) => group.id).sort()).toEqual(['group-a', 'group-b', 'group-c']);
    await stopWithCtrlC(launcher);
  }, 240_000);
});

// What a user does: `npm start` runs the fleet of docker-compose.yml as local
// processes; every service becomes healthy and reachable on its published
// port; the replica groups create themselves and join the ring; Ctrl-C
// (SIGINT to the process group) stops it, leaving no process; a second
// `npm start` on the same data finds what was written.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { coordinatorV1, kvV1 } from '@bulwark/contracts';
import { findProcessesWithEnv, fleetIdVariable, isRunning } from '@bulwark/fleet';
import { callUnary, createClient } from '@bulwark/rpc';
import {
  baseEnv,
  killAllProcesses,
  runReflectionCheck,
  startProcess,
  waitForServing,
  type ManagedProcess,
} from '@bulwark/testing';
import { eventually } from './support/eventually';

// Away from the defaults so a user's own fleet on this machine is never touched.
const subnet = '127.77.31';
// Published ports land at 21001-21400 (no other test's): below the kernel's ephemeral range (32768-60999), where a
// client's outgoing connection could hold a port the fleet wants to listen on.
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
    for (const service of ['router-1', 'router-2', 'lock-1', 'lock-2', 'monitor-1'])
      expect(table).toMatch(new RegExp(`^${service}\\s.*healthy`, 'm'));
    // From the machine's redis-server, each on its own address and no published port.
    for (const service of ['redis-1', 'redis-2', 'redis-3'])
      expect(table).toMatch(
        new RegExp(`^${service}\\s+\\d+\\s+${subnet.replaceAll('.', '\\.')}\\.\\d+:6379\\s+-\\s+healthy`, 'm'),
      );
    expect(table).toMatch(/^jaeger\s.*skipped/m);

    // Reachable as Docker publishes them: 127.0.0.1 and the published port (plus the test's offset).
    for (const port of [7001, 7002, 7003, 7200, 7201, 7300, 7301, 7400]) {
      await waitForServing(`127.0.0.1:${port + portOffset}`, 10_000);
    }
    // The launcher and the seventeen Bulwark services; redis-server writes its title over the environment read here.
    expect(findProcessesWithEnv(fleetIdVariable, fleetId).length).toBeGreaterThanOrEqual(18);

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

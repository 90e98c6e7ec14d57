// The fleet library against real processes: the fixture services of
// src/testing, on subnet 127.77.9 and published ports offset by 20000, so a
// user's fleet on the default subnet and ports is never touched. The Redis
// fixture runs the machine's redis-server on 127.77.14, away from a Redis of
// the host on 127.0.0.1:6379.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readComposeFile } from '../compose/read-compose-file';
import { planFleet } from '../plan/fleet-plan';
import type { PlanSettings } from '../plan/plan-model';
import {
  askFixture,
  askRedis,
  fixtureComposeFile,
  neverHealthyComposeFile,
  redisComposeFile,
} from '../../testing/fixture-client';
import { findProgramsOnPath } from './find-program';
import { FleetNotReadyError, launchFleet, type Fleet } from './fleet';
import type { FleetEvent } from './fleet-events';
import { PortInUseError } from './port-forwarder';
import { findProcessesWithEnv, isRunning } from './process-scan';
import { fleetIdVariable } from './service-supervisor';

const waitMs = 15_000;
const stateDir = mkdtempSync(join(tmpdir(), 'bulwark-fleet-'));
const fleetId = `fleet-int-${process.pid}-${Date.now()}`;
const userEnvironment = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  OTEL_TRACES_SAMPLER: 'always_off',
  SECRET_TOKEN: 'must not leak',
  NODE_OPTIONS: '--max-old-space-size=64',
};

function settings(subnet: string, portOffset: number): PlanSettings {
  return { subnet, stateDir, portOffset, environment: userEnvironment, programsOnPath: new Set() };
}

afterAll(() => {
  rmSync(stateDir, { recursive: true, force: true });
  expect(findProcessesWithEnv(fleetIdVariable, fleetId)).toEqual([]);
});

describe('a launched fixture fleet', () => {
  const events: FleetEvent[] = [];
  let fleet: Fleet | undefined;
  const running = (): Fleet => {
    if (!fleet) throw new Error('the fleet did not launch');
    return fleet;
  };

  beforeAll(async () => {
    const plan = planFleet(readComposeFile(fixtureComposeFile), settings('127.77.9', 20_000));
    fleet = await launchFleet(plan, { fleetId, onEvent: (event) => event.type !== 'output' && events.push(event) });
    await fleet.waitHealthy(waitMs);
  });

  afterAll(() => fleet?.stop());

  it('gives each service its own loopback address and forwards its published ports', async () => {
    const services = running().services();
    expect(services.map(({ name, address, ports, state }) => ({ name, address, ports, state }))).toEqual([
      { name: 'alpha', address: '127.77.9.2', ports: [7001], state: 'healthy' },
      { name: 'beta', address: '127.77.9.3', ports: [7001], state: 'healthy' },
      { name: 'gamma', address: '127.77.9.4', ports: [7003], state: 'running' },
    ]);
    expect(await askFixture('127.0.0.1', 27_001)).toMatchObject({ name: 'alpha', address: '127.77.9.2:7001' });
    expect(await askFixture('127.0.0.1', 27_002)).toMatchObject({ name: 'beta', address: '127.77.9.3:7001' });
    const [gammaPort] = running().service('gamma').published;
    expect(gammaPort).toMatchObject({ hostIp: '127.0.0.1', containerPort: 7003 });
    expect(gammaPort?.hostPort).toBeGreaterThan(0);
    expect(await askFixture('127.0.0.1', gammaPort?.hostPort as number)).toMatchObject({ address: '127.77.9.4:7003' });
  });

  it('hands each child its rewritten environment and arguments, and nothing else of the launcher', async () => {
    const alpha = await askFixture('127.77.9.2', 7001);
    expect(alpha.env).toEqual({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      FIXTURE_NAME: 'alpha',
      FIXTURE_LISTEN: '127.77.9.2:7001',
      FIXTURE_PEERS: 'alpha=127.77.9.2:7001,beta=127.77.9.3:7001',
      FIXTURE_DATA_DIR: join(stateDir, 'alpha-data'),
      OTEL_TRACES_SAMPLER: 'always_off',
      [fleetIdVariable]: fleetId,
    });
    expect(readFileSync(join(stateDir, 'alpha-data', 'pid'), 'utf8')).toBe(String(alpha.pid));
    const beta = await askFixture('127.77.9.3', 7001);
    expect(beta.argv).toEqual(['--listen', '127.77.9.3:7001']);
    expect(beta.env.FIXTURE_PEER).toBe('127.77.9.2:7001');
  });

  it('starts a service that waits for another only once that one is healthy', () => {
    const alphaHealthy = events.findIndex((event) => event.type === 'healthy' && event.service === 'alpha');
    const betaStarted = events.findIndex((event) => event.type === 'started' && event.service === 'beta');
    expect(alphaHealthy).toBeGreaterThanOrEqual(0);
    expect(betaStarted).toBeGreaterThan(alphaHealthy);
  });

  it('restarts a service killed with SIGKILL from outside, as its restart policy says', async () => {
    const before = running().service('alpha').pid as number;
    const healthyAgain = running().waitForEvent(
      (event) => event.type === 'healthy' && event.service === 'alpha',
      waitMs,
    );
    process.kill(before, 'SIGKILL');
    await healthyAgain;
    expect(events).toContainEqual({
      type: 'exited',
      service: 'alpha',
      status: { code: null, signal: 'SIGKILL' },
      requested: false,
    });
    expect(events).toContainEqual({ type: 'restarting', service: 'alpha', delayMs: 200 });
    const after = await askFixture('127.0.0.1', 27_001);
    expect(after.pid).not.toBe(before);
    expect(after.pid).toBe(running().service('alpha').pid);
  });

  it('leaves a service with restart: no down when it exits, until start()', async () => {
    const leftDown = running().waitForEvent((event) => event.type === 'left-down' && event.service === 'gamma', waitMs);
    process.kill(running().service('gamma').pid as number, 'SIGTERM');
    expect(await leftDown).toEqual({ type: 'left-down', service: 'gamma', reason: 'its restart policy is no' });
    expect(running().service('gamma')).toMatchObject({ state: 'exited', pid: undefined });
    await expect(running().waitHealthy(waitMs)).rejects.toThrow('down and not restarting: gamma (exited)');
    running().start('gamma');
    await running().waitHealthy(waitMs, ['gamma']);
  });

  it('kill() stops a service without a restart until start() runs it again', async () => {
    expect(await running().kill('alpha')).toEqual({ code: null, signal: 'SIGKILL' });
    // Had a restart been scheduled, the state would be 'restarting'.
    expect(running().service('alpha')).toMatchObject({ state: 'stopped', pid: undefined });
    await expect(askFixture('127.0.0.1', 27_001)).rejects.toThrow();
    running().start('alpha');
    await running().waitHealthy(waitMs, ['alpha']);
    expect(await askFixture('127.0.0.1', 27_001)).toMatchObject({ name: 'alpha' });
  });

  it('stop() ends every process, with SIGKILL for one that ignores SIGTERM past its grace period', async () => {
    await running().stop();
    expect(events).toContainEqual({
      type: 'exited',
      service: 'beta',
      status: { code: null, signal: 'SIGKILL' },
      requested: true,
    });
    expect(events).toContainEqual({
      type: 'exited',
      service: 'alpha',
      status: { code: null, signal: 'SIGTERM' },
      requested: true,
    });
    expect(findProcessesWithEnv(fleetIdVariable, fleetId)).toEqual([]);
    await expect(askFixture('127.0.0.1', 27_001)).rejects.toThrow('ECONNREFUSED');
  });
});

describe('an image service run from the local redis-server', () => {
  const events: FleetEvent[] = [];
  let fleet: Fleet | undefined;
  const running = (): Fleet => {
    if (!fleet) throw new Error('the fleet did not launch');
    return fleet;
  };

  beforeAll(async () => {
    const compose = readComposeFile(redisComposeFile);
    const plan = planFleet(compose, {
      ...settings('127.77.14', 20_200),
      programsOnPath: findProgramsOnPath(compose, userEnvironment.PATH),
    });
    fleet = await launchFleet(plan, { fleetId, onEvent: (event) => event.type !== 'output' && events.push(event) });
    await fleet.waitHealthy(waitMs);
  });

  afterAll(() => fleet?.stop());

  it('runs on its own address, probed there, with its volume as its directory, before those that wait for it', async () => {
    expect(running().plan.skipped).toEqual([]);
    const redis = running().service('redis');
    expect(redis).toMatchObject({ address: '127.77.14.2', ports: [6379], published: [], state: 'healthy' });
    expect(running().plan.services[0]?.healthcheck?.argv).toEqual([
      'redis-cli',
      '-h',
      '127.77.14.2',
      '-p',
      '6379',
      'ping',
    ]);

    expect(await askRedis('127.77.14.2', 6379, ['PING'])).toBe('PONG');
    // The server answering is the one the fleet started, not a Redis of the host.
    const info = (await askRedis('127.77.14.2', 6379, ['INFO', 'server'])) as string;
    expect(info).toContain(`\r\nprocess_id:${redis.pid}\r\n`);
    expect(await askRedis('127.77.14.2', 6379, ['CONFIG', 'GET', 'dir'])).toEqual([
      'dir',
      join(stateDir, 'redis-data'),
    ]);
    expect(existsSync(join(stateDir, 'redis-data', 'appendonlydir'))).toBe(true);

    expect((await askFixture('127.77.14.3', 7001)).env.FIXTURE_REDIS).toBe('127.77.14.2:6379');
    const redisHealthy = events.findIndex((event) => event.type === 'healthy' && event.service === 'redis');
    const userStarted = events.findIndex((event) => event.type === 'started' && event.service === 'user');
    expect(redisHealthy).toBeGreaterThanOrEqual(0);
    expect(userStarted).toBeGreaterThan(redisHealthy);
  });

  it('stops with the fleet, leaving no process behind', async () => {
    // Found by pid: redis-server writes its title over the environment findProcessesWithEnv reads.
    const redisPid = running().service('redis').pid as number;
    expect(isRunning(redisPid)).toBe(true);
    await running().stop();
    expect(isRunning(redisPid)).toBe(false);
    expect(events).toContainEqual({
      type: 'exited',
      service: 'redis',
      status: { code: 0, signal: null },
      requested: true,
    });
    expect(findProcessesWithEnv(fleetIdVariable, fleetId)).toEqual([]);
    await expect(askRedis('127.77.14.2', 6379, ['PING'])).rejects.toThrow('ECONNREFUSED');
  });
});

describe('launching a fleet', () => {
  it('names the services that are not healthy by the deadline, with their last probe', async () => {
    const plan = planFleet(readComposeFile(neverHealthyComposeFile), settings('127.77.12', 20_000));
    const fleet = await launchFleet(plan, { fleetId });
    try {
      // A probe must have run for its result to be named; under load that can take longer than a short deadline.
      expect(await fleet.waitForEvent((event) => event.type === 'probe-failed', waitMs)).toMatchObject({
        service: 'sleepy',
        detail: expect.stringMatching(/^exit code 1: .*7999/),
      });
      const waiting = fleet.waitHealthy(100);
      await expect(waiting).rejects.toThrow(FleetNotReadyError);
      await expect(waiting).rejects.toThrow(
        /^not healthy within 100 ms: sleepy \(starting; last probe: exit code 1: .*7999/,
      );
    } finally {
      await fleet.stop();
    }
  });

  it('fails on a published port in use before starting anything, and releases the ports it bound', async () => {
    const occupied = await listen(27_102);
    try {
      const plan = planFleet(readComposeFile(fixtureComposeFile), settings('127.77.13', 20_100));
      const launching = launchFleet(plan, { fleetId });
      await expect(launching).rejects.toThrow(PortInUseError);
      await expect(launching).rejects.toThrow('beta: cannot publish 127.0.0.1:27102: the port is already in use');
      expect(findProcessesWithEnv(fleetIdVariable, fleetId)).toEqual([]);
      (await listen(27_101)).close(); // alpha's port, bound before beta's failed, is free again
    } finally {
      occupied.close();
    }
  });
});

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

// What a user does: `npm start` runs the fleet of docker-compose.yml as local
// processes; every service becomes healthy and reachable on its published
// port; Ctrl-C (SIGINT to the process group) stops it, leaving no process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { findProcessesWithEnv, fleetIdVariable } from '@bulwark/fleet';
import { baseEnv, killAllProcesses, runReflectionCheck, startProcess, waitForServing } from '@bulwark/testing';

// Away from the defaults so a user's own fleet on this machine is never touched.
const subnet = '127.77.31';
const portOffset = 40_000;

describe('npm start', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'bulwark-npm-start-'));
  const fleetId = `npm-start-${randomUUID()}`;

  afterAll(async () => {
    await killAllProcesses();
    for (const pid of findProcessesWithEnv(fleetIdVariable, fleetId)) process.kill(pid, 'SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs the compose fleet healthy, and Ctrl-C leaves no process behind', async () => {
    const launcher = startProcess({
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
    await launcher.waitForLine((line) => line.includes('fleet ready'), 180_000);
    const table = launcher.output();
    for (const service of [
      'coordinator-1',
      'coordinator-2',
      'coordinator-3',
      'replica-a1',
      'replica-a2',
      'replica-a3',
    ]) {
      expect(table).toMatch(new RegExp(`^${service}\\s.*healthy`, 'm'));
    }
    for (const service of ['router-1', 'lock-1', 'monitor-1'])
      expect(table).toMatch(new RegExp(`^${service}\\s.*healthy`, 'm'));
    expect(table).toMatch(/^jaeger\s.*skipped/m);

    // Reachable as Docker publishes them: 127.0.0.1 and the published port (plus the test's offset).
    for (const port of [7001, 7002, 7003, 7200, 7300, 7400]) {
      await waitForServing(`127.0.0.1:${port + portOffset}`, 10_000);
    }
    const router = await runReflectionCheck(`127.0.0.1:${7200 + portOffset}`, ['kv.v1.KV/Get={"key":"a"}']);
    expect(router.output).toContain('ok kv.v1.KV');
    expect(router.code).toBe(0);
    expect(findProcessesWithEnv(fleetIdVariable, fleetId).length).toBeGreaterThanOrEqual(9);

    launcher.signalGroup('SIGINT');
    const exit = await launcher.waitForExit(60_000);
    expect(exit.code).toBe(0);
    expect(launcher.output()).toMatch(/"msg":"fleet stopped"/);
    expect(findProcessesWithEnv(fleetIdVariable, fleetId)).toEqual([]);
  });
});

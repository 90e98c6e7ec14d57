// Process faults on a real launched fleet (one fixture TCP service of
// libs/fleet): a paused process answers nothing until it is resumed, and
// then answers what waited; a killed one is down until restarted, with a
// new pid.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { repoPath } from '@bulwark/testing';
import { ProcessFaults } from './process-faults';

const service = repoPath('libs/fleet/src/testing/tcp-service.js');
const probe = repoPath('libs/fleet/src/testing/tcp-probe.js');

/** The first line the service answers a connection with, or undefined if none comes within withinMs. */
function answer(address: string, withinMs: number): Promise<string | undefined> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, withinMs);
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(received.split('\n')[0]);
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

describe('ProcessFaults', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-chaos-process-'));
  let launched: ComposeFleet;
  let faults: ProcessFaults;
  let address: string;

  beforeAll(async () => {
    const composeFile = join(scratch, 'docker-compose.yml');
    writeFileSync(
      composeFile,
      [
        'services:',
        '  echo:',
        '    build: .',
        `    command: ['node', '${service}']`,
        '    environment: [FIXTURE_NAME=echo, FIXTURE_LISTEN=0.0.0.0:7001]',
        '    healthcheck:',
        `      test: ['CMD', 'node', '${probe}', 'localhost:7001']`,
        '      interval: 1s',
        '      timeout: 2s',
      ].join('\n'),
    );
    launched = await launchComposeFleet(composeFile, {
      subnet: '127.77.97',
      projectDir: scratch,
      readyTimeoutMs: 30_000,
    });
    faults = new ProcessFaults(launched.fleet);
    address = launched.address('echo', 7001);
  }, 60_000);

  afterAll(async () => {
    faults?.resumeAll();
    await launched?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('pauses a process: it answers nothing until resumed, then answers what waited', async () => {
    expect(JSON.parse((await answer(address, 5_000)) ?? '{}').name).toBe('echo');
    faults.pause('echo');
    expect(faults.pausedServices).toEqual(['echo']);
    // The kernel accepts the connection; the frozen process never reads it.
    const waiting = answer(address, 10_000);
    expect(await answer(address, 500)).toBeUndefined();
    faults.resume('echo');
    expect(faults.pausedServices).toEqual([]);
    expect(JSON.parse((await waiting) ?? '{}').name).toBe('echo');
  });

  it('kills a process until it is restarted, paused or not', async () => {
    const before = launched.fleet.service('echo').pid;
    faults.pause('echo');
    await faults.kill('echo');
    expect(faults.pausedServices).toEqual([]);
    expect(await answer(address, 500)).toBeUndefined();
    faults.restart('echo');
    await launched.fleet.waitHealthy(30_000, ['echo']);
    expect(launched.fleet.service('echo').pid).not.toBe(before);
    expect(JSON.parse((await answer(address, 5_000)) ?? '{}').name).toBe('echo');
  });
});

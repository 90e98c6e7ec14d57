// SIGTERM drains: health turns NOT_SERVING for watchers, in-flight calls are
// answered, streams end cleanly, the metrics endpoint closes last, and the
// process exits 0.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import { healthV1, kvV1 } from '@bulwark/contracts';
import { familyOf, scrapeMetrics, valueOf } from '@bulwark/metrics/testing';
import { callUnary, createClient } from '@bulwark/rpc';
import {
  baseEnv,
  freePort,
  killAllProcesses,
  repoPath,
  startProcess,
  startService,
  waitForServing,
} from '@bulwark/testing';

const { HealthCheckResponse_ServingStatus: Status } = healthV1;

const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-shutdown-'));

afterAll(async () => {
  await killAllProcesses();
  rmSync(dataDir, { recursive: true, force: true });
});

it('a service drains its health watchers with NOT_SERVING and an OK end, then exits 0', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  // A coordinator alone is SERVING (it answers GetLeader and WatchTopology without its peers).
  const service = startService('coordinator', {
    BULWARK_MEMBER_ID: 'c1',
    BULWARK_LISTEN_ADDR: address,
    BULWARK_PEERS: `c1=${address},c2=127.0.0.1:2,c3=127.0.0.1:3`,
    BULWARK_DATA_DIR: dataDir,
  });
  await waitForServing(address, 30_000, { process: service });
  const health = createClient(healthV1.HealthClient, address);
  const seen: number[] = [];
  const stream = health.watch({ service: '' }, new Metadata());
  const ended = new Promise<StatusObject>((resolve) => stream.on('status', resolve));
  stream.on('error', () => undefined);
  await new Promise<void>((resolve) =>
    stream.on('data', (response: healthV1.HealthCheckResponse) => {
      seen.push(response.status);
      if (response.status === Status.SERVING) resolve();
    }),
  );
  service.signal('SIGTERM');
  const final = await ended;
  expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
  expect(final.code).toBe(status.OK);
  expect((await service.waitForExit(15_000)).code).toBe(0);
  expect(service.stdout.some((line) => JSON.parse(line).msg === 'drained')).toBe(true);
  health.close();
});

/** The fixture service, bundled once for the tests that run it. */
let fixture: Promise<string> | undefined;
function drainServer(): Promise<string> {
  fixture ??= (async () => {
    const outfile = repoPath('dist/tools/system-tests/drain-server.js');
    await build({
      entryPoints: [repoPath('tools/system-tests/src/fixtures/drain-server.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      tsconfig: repoPath('tsconfig.base.json'),
      logLevel: 'warning',
    });
    return outfile;
  })();
  return fixture;
}

function startDrainServer(env: NodeJS.ProcessEnv) {
  return drainServer().then((file) =>
    startProcess({ command: process.execPath, args: [file], env: { ...baseEnv(), ...env } }),
  );
}

it('SIGTERM runs the draining hooks and lets an in-flight call finish before the process exits 0', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const server = await startDrainServer({ BULWARK_MEMBER_ID: 'drain-1', BULWARK_LISTEN_ADDR: address });
  await waitForServing(address, 30_000, { process: server });
  const client = createClient(kvV1.KVClient, address);
  const inFlight = callUnary(
    client,
    client.get,
    { key: 'in-flight', consistency: 0, maxStalenessMs: 0 },
    { deadlineMs: 20_000 },
  );
  await server.waitForLine((line) => line.includes('holding call until drain'), 10_000);
  server.signal('SIGTERM');
  const response = await inFlight;
  expect(Buffer.from(response.kv?.value ?? []).toString()).toBe('drained');
  expect((await server.waitForExit(15_000)).code).toBe(0);
  client.close();
});

it('serves metrics where its started hook is told, the wildcard host replaced by the advertised one, until it exits', async () => {
  const port = await freePort();
  const server = await startDrainServer({
    BULWARK_MEMBER_ID: 'drain-2',
    BULWARK_LISTEN_ADDR: `127.0.0.1:${port}`,
    BULWARK_ADVERTISE_ADDR: `127.0.0.1:${port}`,
    BULWARK_METRICS_ADDR: '0.0.0.0:0',
  });
  const started = JSON.parse(await server.waitForLine((line) => line.includes('"msg":"started"'), 30_000));
  const metricsAddress = started.metricsAddress as string;
  expect(metricsAddress).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  const metricsPort = metricsAddress.split(':')[1];
  expect(metricsPort).not.toBe(String(port));
  // Bound on every interface, at the port the started hook names.
  const serving = server.stdout.map((line) => JSON.parse(line)).find((line) => line.msg === 'serving metrics');
  expect(serving).toMatchObject({ address: `0.0.0.0:${metricsPort}`, path: '/metrics' });
  const scrape = await scrapeMetrics(metricsAddress);
  expect(familyOf(scrape, 'process_cpu_user_seconds_total').type).toBe('COUNTER');
  const get = { grpc_type: 'unary', grpc_service: 'kv.v1.KV', grpc_method: 'Get' };
  expect(valueOf(scrape, 'grpc_server_started_total', get)).toBe(0);
  server.signal('SIGTERM');
  expect((await server.waitForExit(15_000)).code).toBe(0);
  await expect(fetch(`http://${metricsAddress}/metrics`)).rejects.toThrow();
});

it('serves no metrics with BULWARK_METRICS_ADDR=off', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const server = await startDrainServer({
    BULWARK_MEMBER_ID: 'drain-3',
    BULWARK_LISTEN_ADDR: address,
    BULWARK_METRICS_ADDR: 'off',
  });
  const started = JSON.parse(await server.waitForLine((line) => line.includes('"msg":"started"'), 30_000));
  expect(started.metricsAddress).toBeNull();
  expect(server.stdout.some((line) => line.includes('serving metrics'))).toBe(false);
  server.signal('SIGTERM');
  expect((await server.waitForExit(15_000)).code).toBe(0);
});

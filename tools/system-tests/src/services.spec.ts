// Every service, started as a real process the way the fleet starts it,
// answers grpc.health.v1 (SERVING; a replica alone, NOT_SERVING) and describes itself through server
// reflection well enough for grpcurl: list, describe (linking every file with
// its imports) and calls through the reflected types. Unconfigured, it serves
// Prometheus metrics on the host it listens on, at a free port, and counts
// those calls there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { healthV1 } from '@bulwark/contracts';
import { scrapeMetrics } from '@bulwark/metrics/testing';
import {
  freePort,
  killAllProcesses,
  runReflectionCheck,
  startService,
  waitForHealth,
  type ManagedProcess,
  type ServiceApp,
} from '@bulwark/testing';
import { expectServiceMetrics } from './support/fleet-metrics';

interface Case {
  app: ServiceApp;
  services: string[];
  /** Unary calls through the reflected types, each with the start of the answer the checker prints. */
  calls: Array<[call: string, answer: string]>;
  env: (port: number, dataDir: string) => NodeJS.ProcessEnv;
  /** What its health says when it runs alone (a replica without its coordinators serves nothing). */
  health?: 'SERVING' | 'NOT_SERVING';
}

const coordinators = '127.0.0.1:1';

const cases: Case[] = [
  {
    app: 'coordinator',
    services: ['coordinator.v1.Coordinator', 'paxos.v1.Paxos'],
    // Alone (its peers are not running) it knows no leader and cannot answer linearizable reads.
    calls: [
      ['coordinator.v1.Coordinator/GetLeader={}', 'OK {"header":{"memberId":"c1"'],
      ['coordinator.v1.Coordinator/GetTopology={}', 'FAILED_PRECONDITION: not the leader; leader unknown'],
      ['coordinator.v1.Coordinator/RegisterMember={}', 'INVALID_ARGUMENT: member: is required'],
    ],
    env: (port, dataDir) => ({
      BULWARK_MEMBER_ID: 'c1',
      BULWARK_PEERS: `c1=127.0.0.1:${port},c2=127.0.0.1:2,c3=127.0.0.1:3`,
      BULWARK_DATA_DIR: dataDir,
    }),
  },
  {
    app: 'replica',
    services: ['replication.v1.Replication', 'shard.v1.Shard'],
    // Alone it knows no primary: writes are refused with a hint-less not-primary, bad input before that.
    calls: [
      [
        'shard.v1.Shard/Put={"group_id":"group-a","request":{"key":"a","value":"dg=="}}',
        'FAILED_PRECONDITION: not the leader; leader unknown',
      ],
      [
        'shard.v1.Shard/Get={"group_id":"group-b","request":{"key":"a"}}',
        'FAILED_PRECONDITION: group_id: this member serves group',
      ],
      ['shard.v1.Shard/Delete={"group_id":"group-a","request":{"key":""}}', 'INVALID_ARGUMENT: request.key'],
      ['replication.v1.Replication/GetDurableState={"group_id":"group-a"}', 'OK {"header":{"memberId":"replica-a1"'],
    ],
    health: 'NOT_SERVING',
    env: (_port, dataDir) => ({
      BULWARK_MEMBER_ID: 'replica-a1',
      BULWARK_GROUP_ID: 'group-a',
      BULWARK_COORDINATORS: coordinators,
      BULWARK_DATA_DIR: dataDir,
    }),
  },
  {
    app: 'router',
    services: ['kv.v1.KV'],
    // Alone it has no topology: NOT_SERVING, and a call that could only wait for one fails at the router's deadline; bad input is refused before that.
    calls: [
      ['kv.v1.KV/Get={"key":"a","consistency":"CONSISTENCY_STRONG"}', 'DEADLINE_EXCEEDED: the router has no topology'],
      ['kv.v1.KV/Put={"key":"","value":"dg=="}', 'INVALID_ARGUMENT: key: must not be empty'],
      ['kv.v1.KV/Scan={"prefix":"p","pageToken":"x"}', 'INVALID_ARGUMENT: page_token: is not a page token'],
    ],
    health: 'NOT_SERVING',
    env: () => ({
      BULWARK_MEMBER_ID: 'router-1',
      BULWARK_COORDINATORS: coordinators,
      BULWARK_REQUEST_TIMEOUT_MS: '300',
    }),
  },
  {
    app: 'lock',
    services: ['lock.v1.Lock'],
    // No Redis servers listed: the memory backend, one instance.
    calls: [
      [
        'lock.v1.Lock/TryAcquire={"name":"a","owner":"o","ttlMs":60000}',
        'OK {"header":{"memberId":"lock-1"},"acquired":true,"token":"1","validForMs":',
      ],
      [
        'lock.v1.Lock/Inspect={"name":"a"}',
        'OK {"header":{"memberId":"lock-1"},"held":true,"holder":{"owner":"o","token":"1"',
      ],
      ['lock.v1.Lock/Inspect={"name":""}', 'INVALID_ARGUMENT: name: must not be empty'],
    ],
    env: () => ({ BULWARK_MEMBER_ID: 'lock-1', BULWARK_COORDINATORS: coordinators }),
  },
  {
    app: 'monitor',
    services: ['monitor.v1.Monitor'],
    // No coordinator answers: it watches the listed ones, and knows of nothing else.
    calls: [
      [
        'monitor.v1.Monitor/GetStatus={}',
        'OK {"header":{"memberId":"monitor-1"},"status":{"members":[{"memberId":"coordinator@',
      ],
      [
        'monitor.v1.Monitor/GetAvailability={"kind":"SUBJECT_KIND_GROUP","subjectId":"group-x"}',
        "NOT_FOUND: subject_id: no group 'group-x' is tracked",
      ],
      [
        'monitor.v1.Monitor/GetAvailability={"subjectId":"group-x"}',
        'INVALID_ARGUMENT: kind: is required with a subject_id',
      ],
      [
        'monitor.v1.Monitor/GetAvailability={"kind":"SUBJECT_KIND_MEMBER","subjectId":"Replica A1"}',
        'INVALID_ARGUMENT: subject_id: must be a member, group or canary id',
      ],
    ],
    env: (_port, dataDir) => ({
      BULWARK_MEMBER_ID: 'monitor-1',
      BULWARK_COORDINATORS: coordinators,
      BULWARK_DATA_DIR: dataDir,
      BULWARK_DASHBOARD_ADDR: '127.0.0.1:0',
    }),
  },
];

describe('each service over reflection and health', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-services-'));
  const started: Array<{ spec: Case; address: string; process: ManagedProcess }> = [];

  beforeAll(async () => {
    for (const spec of cases) {
      const port = await freePort();
      const address = `127.0.0.1:${port}`;
      const env = {
        ...spec.env(port, join(scratch, spec.app)),
        BULWARK_LISTEN_ADDR: address,
        BULWARK_ADVERTISE_ADDR: address,
      };
      started.push({ spec, address, process: startService(spec.app, env) });
    }
    const { SERVING, NOT_SERVING } = healthV1.HealthCheckResponse_ServingStatus;
    await Promise.all(
      started.map(({ spec, address, process }) =>
        waitForHealth(address, 30_000, spec.health === 'NOT_SERVING' ? NOT_SERVING : SERVING, { process }),
      ),
    );
  });

  afterAll(async () => {
    await killAllProcesses();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each(cases.map((spec) => [spec.app, spec] as const))('%s lists, describes and calls its services', async (app) => {
    const { spec, address, process } = started.find((entry) => entry.spec.app === app) as (typeof started)[number];
    const result = await runReflectionCheck(address, [
      ...spec.calls.map(([call]) => call),
      'grpc.health.v1.Health/Check={}',
    ]);
    const health = spec.health ?? 'SERVING';
    // The checker fails only on a health other than SERVING, which this service reports on purpose.
    expect(result.code).toBe(health === 'SERVING' ? 0 : 1);
    for (const service of [...spec.services, 'grpc.health.v1.Health']) {
      expect(result.output).toMatch(new RegExp(`^ok ${service.replace(/\./g, '\\.')}: \\d+ methods`, 'm'));
    }
    for (const [call, answer] of spec.calls) {
      const method = call.slice(0, call.indexOf('='));
      expect(result.output).toContain(`call ${method}: ${answer}`);
    }
    expect(result.output).toContain(`call grpc.health.v1.Health/Check: OK {"status":"${health}"}`);
    expect(result.output).toContain(`health: ${health}`);
    expect(process.alive).toBe(true);

    const metrics = process.stdout.find((line) => line.includes('"msg":"serving metrics"'));
    const metricsAddress = JSON.parse(metrics ?? '{}').address as string;
    expect(metricsAddress).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(metricsAddress).not.toBe(address);
    expectServiceMetrics(app, app, await scrapeMetrics(metricsAddress));
  });
});

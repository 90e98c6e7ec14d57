// `npm run bench -- --compare`: Bulwark beside etcd and Redis on this
// machine, in one run, from one client process with the same client shape
// (one gRPC channel per endpoint; Redis: one ioredis connection), fixed
// duration per cell, at 1, 16 and 64 operations in flight, 16-byte keys and
// 100-byte values:
// - Bulwark: the router benchmark's fleet (3 coordinators, one group of 3
//   replicas, sync) with two routers as docker-compose.yml runs them, through
//   the launcher, the client spreading calls over both: kv.v1 Put sync and
//   async, Get STRONG and EVENTUAL, all through the routers, and Put sync
//   and Get STRONG straight to the primary (shard.v1 unary): what the
//   routers cost;
// - etcd: a 3-member cluster (fsync on, etcd's only mode), requests spread
//   over its members as clientv3 does: Put, Range linearizable and
//   serializable;
// - Redis: one redis-server with appendfsync always (durability as
//   compared): SET and GET, for reference;
// - the ceiling: a trivial grpc-js echo service in a process of its own;
// - failover: kill -9 of Bulwark's primary and of etcd's leader, the time to
//   the first acknowledged write, BULWARK_BENCH_COMPARE_KILLS times each
//   (10 by default; replica-failover.ts and etcd-failover.ts);
// - lock cycles (acquire then release) on distinct locks and on one hot
//   lock: Bulwark's lock service (2 instances on 3 Redis servers, the lock
//   bench's fleet), etcd's v3lock with a session lease per contender, and
//   Redis SET NX PX with a compare-and-delete release (retried every 2 ms
//   while taken: Redis has no blocking acquire).
// Each cell reports ops/s, p50, p99 and the CPU all of that system's server
// processes spent per operation (in the JSON also process by process, and
// the client's). Then Bulwark's ratio to its peer in each
// row, the machine, and the same as JSON (.bulwark/bench/compare.json).
//
// BULWARK_BENCH_COMPARE_CELL_MS sets how long each cell is measured (5,000
// by default, after a warm-up of a fifth of that, at most 1 s);
// BULWARK_BENCH_COMPARE_SYSTEMS which systems run (all by default).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { credentials, Client } from '@grpc/grpc-js';
import Redis from 'ioredis';
import { int, loadConfig, string } from '@bulwark/config';
import { kvV1 } from '@bulwark/contracts';
import { callUnary } from '@bulwark/rpc';
import { asIdleContender } from './closed-loop';
import { etcdBinary, etcdCall, launchEtcdCluster, type EtcdCluster } from './etcd-cluster';
import { measureEtcdFailovers } from './etcd-failover';
import {
  checkFound,
  checkGetResponse,
  checkPut,
  checkPutResponse,
  getRequestOf,
  keyCount,
  keyOf,
  measureCell,
  newCellId,
  operationTimeoutMs,
  perUnit,
  putRequestOf,
  sendUnary,
  serverCpuUs,
  value,
  type Cell,
} from './kv-cells';
import { sampleCpu, type CpuSample } from './process-cpu';
import { launchLockFleet, lockInstances, type LockInstance } from './lock-fleet';
import { measureFailovers } from './replica-failover';
import {
  cellTables,
  failoversOf,
  failoverTable,
  getStrong,
  getStrongDirect,
  inFlightLevels,
  putSync,
  putSyncDirect,
  ratioTable,
  type CompareCell,
  type Failovers,
  type Variant,
} from './compare-tables';
import { groupId, repoRoot } from './replica-fleet';
import { launchRouterFleet } from './router-fleet';
import type { BenchTable } from './table';

/** The systems a run measures, in the order they run; BULWARK_BENCH_COMPARE_SYSTEMS picks some. */
const systemNames = ['bulwark-kv', 'bulwark-lock', 'etcd', 'redis', 'echo'] as const;

const settingsSchema = {
  cellMs: int('BULWARK_BENCH_COMPARE_CELL_MS', { min: 100, max: 600_000, default: 5_000 }),
  kills: int('BULWARK_BENCH_COMPARE_KILLS', { min: 0, max: 100, default: 10 }),
  systems: string('BULWARK_BENCH_COMPARE_SYSTEMS', {
    default: systemNames.join(','),
    pattern: {
      regex: new RegExp(`^(${systemNames.join('|')})(,(${systemNames.join('|')}))*$`),
      description: `a comma-separated list of ${systemNames.join(', ')}`,
    },
  }),
};

/** Not used by any other bench or test (127.77.70-73 are the replica and router benches', .83 the lock bench's etcd). */
const bulwarkSubnet = '127.77.74';
const etcdHosts = ['127.77.76.1', '127.77.76.2', '127.77.76.3'];
const echoAddress = '127.77.77.1:7400';
const redisHost = '127.77.77.2';
const redisPort = 6390;
const startTimeoutMs = 30_000;
const lockSubnet = '127.77.78';
/** How often a Redis contender tries SET NX again while the lock is taken. */
const redisLockRetryMs = 2;
/** Deletes the lock only if the caller still holds it (Redis' documented single-instance lock). */
const compareAndDelete =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

type Operation = (n: number) => Promise<void>;

interface System {
  readonly cpu: () => CpuSample;
  /** Writes every key the reads read (keyCount of them), before any cell: the reads never find a key missing. */
  readonly load?: Operation;
  /** Kills of the member writes depend on, after the cells; absent for a system without failover. */
  readonly failovers?: (kills: number) => Promise<Failovers>;
  /** The variants in the order they run (writes first: the reads read what they wrote). */
  /** Each variant's operation for one cell; inFlight says how many contenders a lock cell has. */
  readonly variants: readonly (Variant & { readonly operation: (cellId: string, inFlight: number) => Operation })[];
  stop(): Promise<void>;
}

export async function runCompareBench(): Promise<BenchTable[]> {
  const settings = loadConfig(settingsSchema);
  const cells: CompareCell[] = [];
  const failovers: Failovers[] = [];
  const launchers: Record<(typeof systemNames)[number], () => Promise<System | undefined>> = {
    'bulwark-kv': launchBulwark,
    'bulwark-lock': launchBulwarkLocks,
    etcd: launchEtcd,
    redis: launchRedis,
    echo: launchEcho,
  };
  const chosen = new Set(settings.systems.split(','));
  for (const launch of systemNames.filter((name) => chosen.has(name)).map((name) => launchers[name])) {
    const system = await launch();
    if (!system) continue;
    try {
      if (system.load) await loadKeys(system.load);
      for (const variant of system.variants) {
        for (const inFlight of inFlightLevels) {
          const cell = await measureCell(
            system.cpu,
            settings.cellMs,
            inFlight,
            variant.operation(newCellId(), inFlight),
          );
          cells.push(compareCellOf(variant, inFlight, cell));
        }
      }
      if (system.failovers && settings.kills > 0) failovers.push(await system.failovers(settings.kills));
    } finally {
      await system.stop();
    }
  }
  const machine = machineOf();
  const tables = [...cellTables(cells), ratioTable(cells), failoverTable(failovers)];
  const outDir = join(repoRoot, '.bulwark/bench');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'compare.json');
  writeFileSync(file, `${JSON.stringify({ machine, cellMs: settings.cellMs, cells, failovers }, null, 2)}\n`);
  tables.push({
    title: `Machine (JSON: ${file})`,
    columns: ['cores', 'CPU', 'node', 'etcd', 'Redis'],
    rows: [[machine.cores, machine.cpu, machine.node, machine.etcd, machine.redis]],
  });
  return tables;
}

/** Every key once, 64 at a time. */
async function loadKeys(write: Operation): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let n = next++; n < keyCount; n = next++) await write(n);
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

function compareCellOf(variant: Variant, inFlight: number, cell: Cell): CompareCell {
  const { workload, system, label } = variant;
  return {
    workload,
    system,
    label,
    inFlight,
    opsPerS: cell.opsPerS,
    p50Ms: cell.p50Ms,
    p99Ms: cell.p99Ms,
    serverCpuUsPerOp: perUnit(serverCpuUs(cell), cell.ops),
    serverCpuUsPerOpByProcess: Object.fromEntries(
      [...cell.serverAfter.keys()].map((name) => [
        name,
        perUnit(
          serverCpuUs(cell, (candidate) => candidate === name),
          cell.ops,
        ),
      ]),
    ),
    clientCpuUsPerOp: perUnit(cell.clientCpuUs, cell.ops),
  };
}

/** Bulwark as docker-compose.yml runs it: two routers, the client spreading its calls over both. */
const bulwarkShape = { composeFile: 'tools/bench/fixtures/compare.compose.yml', routers: ['router-1', 'router-2'] };

async function launchBulwark(): Promise<System> {
  const fleet = await launchRouterFleet(bulwarkSubnet, bulwarkShape);
  const { kvs } = fleet;
  const routerOf = (n: number) => kvs[n % kvs.length] as kvV1.KVClient;
  const deadline = { deadlineMs: operationTimeoutMs };
  const put =
    (durability: kvV1.Durability) =>
    (cellId: string): Operation =>
    async (n) => {
      const kv = routerOf(n);
      checkPutResponse(await callUnary(kv, kv.put, putRequestOf(n, cellId, durability), deadline));
    };
  const get = (consistency: kvV1.Consistency) => (): Operation => async (n) => {
    const kv = routerOf(n);
    checkGetResponse(await callUnary(kv, kv.get, getRequestOf(n, consistency), deadline));
  };
  // The primary of the cells (failovers come after them all).
  const primary = fleet.replicas.shard((await fleet.replicas.group()).primary);
  const putDirect =
    (cellId: string): Operation =>
    async (n) =>
      checkPut(
        await sendUnary(primary, {
          $case: 'put',
          put: { groupId, request: putRequestOf(n, cellId, kvV1.Durability.DURABILITY_SYNC) },
        }),
      );
  const getDirect: Operation = async (n) =>
    checkFound(
      await sendUnary(primary, {
        $case: 'get',
        get: { groupId, request: getRequestOf(n, kvV1.Consistency.CONSISTENCY_STRONG) },
      }),
    );
  const system = 'Bulwark' as const;
  return {
    cpu: () => fleet.replicas.cpu(),
    load: put(kvV1.Durability.DURABILITY_SYNC)(newCellId()),
    failovers: async (kills) => {
      const measured = await measureFailovers(fleet.replicas, kills);
      return failoversOf(
        'Bulwark',
        measured.map((kill) => kill.ackMs),
      );
    },
    variants: [
      { workload: 'put', system, label: putSync, operation: put(kvV1.Durability.DURABILITY_SYNC) },
      { workload: 'put', system, label: putSyncDirect, operation: (cellId) => putDirect(cellId) },
      { workload: 'put', system, label: 'Put async', operation: put(kvV1.Durability.DURABILITY_ASYNC) },
      { workload: 'get', system, label: getStrong, operation: get(kvV1.Consistency.CONSISTENCY_STRONG) },
      { workload: 'get', system, label: getStrongDirect, operation: () => getDirect },
      { workload: 'get', system, label: 'Get EVENTUAL', operation: get(kvV1.Consistency.CONSISTENCY_EVENTUAL) },
    ],
    stop: () => fleet.stop(),
  };
}

/** Contenders of a lock cell: each its own lock (distinct) or all one lock (hot), named for the cell. */
function lockNamesOf(kind: LockKind, cellId: string, contenders: number): string[] {
  return Array.from({ length: contenders }, (_, index) =>
    kind === 'hot' ? `bench/${cellId}/hot` : `bench/${cellId}/lock-${index}`,
  );
}

type LockKind = 'distinct' | 'hot';
const lockKinds: readonly LockKind[] = ['distinct', 'hot'];
const lockLabel = (kind: LockKind) => (kind === 'hot' ? 'one hot lock' : 'distinct locks');
const lockTtlMs = 10_000;
const lockWaitMs = 30_000;

async function launchBulwarkLocks(): Promise<System> {
  const fleet = await launchLockFleet(lockSubnet);
  const cycle =
    (kind: LockKind) =>
    (cellId: string, contenders: number): Operation => {
      const idle = lockNamesOf(kind, cellId, contenders).map((name, index) => ({
        name,
        owner: `bench-${cellId}-${index}`,
        // Spread over both instances, as the client shape of one channel per endpoint.
        client: fleet.client(lockInstances[index % lockInstances.length] as LockInstance),
      }));
      return asIdleContender(idle, async ({ name, owner, client }) => {
        const grant = await callUnary(
          client,
          client.acquire,
          { name, owner, ttlMs: lockTtlMs, waitTimeoutMs: lockWaitMs },
          { deadlineMs: lockWaitMs + operationTimeoutMs },
        );
        if (!grant.acquired) throw new Error(`${name} was not granted to ${owner} within ${lockWaitMs} ms`);
        await callUnary(
          client,
          client.release,
          { name, owner, token: grant.token, leaseId: grant.leaseId },
          { deadlineMs: operationTimeoutMs },
        );
      });
    };
  return {
    cpu: () => fleet.cpu(),
    variants: lockKinds.map((kind) => ({
      workload: 'lock' as const,
      system: 'Bulwark' as const,
      label: `lock cycle, ${lockLabel(kind)}`,
      operation: cycle(kind),
    })),
    stop: () => fleet.stop(),
  };
}

async function launchEtcd(): Promise<System | undefined> {
  const binary = etcdBinary();
  if (!binary) {
    process.stderr.write('compare: no etcd binary (apt-get install etcd-server): etcd is left out\n');
    return undefined;
  }
  const cluster: EtcdCluster = await launchEtcdCluster(binary, etcdHosts);
  // As clientv3 balances: each operation to the next member in turn.
  const memberOf = (n: number) => cluster.members[n % cluster.members.length] as EtcdCluster['members'][number];
  const range = (serializable: boolean) => (): Operation => async (n) => {
    const answer = await etcdCall(memberOf(n).kv, 'Range', { key: Buffer.from(keyOf(n)), serializable });
    if ((answer['kvs'] as unknown[]).length !== 1) throw new Error('an etcd Range of a written key found nothing');
  };
  const put: Operation = async (n) => {
    await etcdCall(memberOf(n).kv, 'Put', { key: Buffer.from(keyOf(n)), value });
  };
  const system = 'etcd' as const;
  return {
    cpu: () => cluster.cpu(),
    load: put,
    failovers: async (kills) => {
      const measured = await measureEtcdFailovers(cluster, kills);
      return failoversOf(
        'etcd',
        measured.map((kill) => kill.ackMs),
      );
    },
    variants: [
      {
        workload: 'put',
        system,
        label: 'etcd Put',
        operation: () => put,
      },
      { workload: 'get', system, label: 'etcd Range linearizable', operation: range(false) },
      { workload: 'get', system, label: 'etcd Range serializable', operation: range(true) },
      ...lockKinds.map((kind) => ({
        workload: 'lock' as const,
        system,
        label: `etcd v3lock, ${lockLabel(kind)}`,
        operation: (cellId: string, contenders: number): Operation => {
          // A session lease per contender, outliving the cell: a lock is only ever freed by Unlock.
          const sessions = lockNamesOf(kind, cellId, contenders).map((name, index) => ({
            name: Buffer.from(name),
            member: cluster.members[index % cluster.members.length] as EtcdCluster['members'][number],
            lease: '',
          }));
          return asIdleContender(sessions, async (session) => {
            if (session.lease === '') {
              session.lease = String((await etcdCall(session.member.lease, 'LeaseGrant', { TTL: 600 }))['ID']);
            }
            const locked = await etcdCall(session.member.lock, 'Lock', { name: session.name, lease: session.lease });
            await etcdCall(session.member.lock, 'Unlock', { key: locked['key'] });
          });
        },
      })),
    ],
    stop: () => cluster.stop(),
  };
}

async function launchRedis(): Promise<System | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-redis-'));
  const server = spawn(
    'redis-server',
    [
      ...['--bind', redisHost, '--port', String(redisPort), '--dir', dir, '--protected-mode', 'no'],
      // Every write on disk before it is acknowledged, as the durable writes it is set against.
      ...['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stopServer = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const started = await outputLine(server, 'Ready to accept connections').catch((error: unknown) => error);
  if (started instanceof Error) {
    await stopServer();
    process.stderr.write(`compare: redis-server did not start (${started.message}): Redis is left out\n`);
    return undefined;
  }
  const redis = new Redis({ host: redisHost, port: redisPort, maxRetriesPerRequest: 0, lazyConnect: true });
  await redis.connect();
  const set: Operation = async (n) => {
    if ((await redis.set(keyOf(n), value)) !== 'OK') throw new Error('a Redis SET was not applied');
  };
  const system = 'Redis' as const;
  return {
    cpu: () => sampleCpu(new Map([['redis', server.pid]])),
    load: set,
    variants: [
      {
        workload: 'put',
        system,
        label: 'Redis SET (appendfsync always)',
        operation: () => set,
      },
      {
        workload: 'get',
        system,
        label: 'Redis GET',
        operation: () => async (n) => {
          if ((await redis.getBuffer(keyOf(n))) === null) throw new Error('a Redis GET of a written key found nothing');
        },
      },
      ...lockKinds.map((kind) => ({
        workload: 'lock' as const,
        system,
        label: `Redis SET NX PX, ${lockLabel(kind)}`,
        operation: (cellId: string, contenders: number): Operation => {
          const idle = lockNamesOf(kind, cellId, contenders).map((name, index) => ({
            name,
            owner: `bench-${cellId}-${index}`,
          }));
          return asIdleContender(idle, async ({ name, owner }) => {
            const waitUntil = performance.now() + lockWaitMs;
            while ((await redis.set(name, owner, 'PX', lockTtlMs, 'NX')) !== 'OK') {
              if (performance.now() > waitUntil) throw new Error(`${name} was not free within ${lockWaitMs} ms`);
              await new Promise((resolve) => setTimeout(resolve, redisLockRetryMs));
            }
            if ((await redis.eval(compareAndDelete, 1, name, owner)) !== 1) {
              throw new Error(`${owner} no longer held ${name} at its release`);
            }
          });
        },
      })),
    ],
    stop: async () => {
      redis.disconnect();
      await stopServer();
    },
  };
}

/** Resolves once the child prints a line containing `text`; rejects when it exits first or startTimeoutMs passes. */
function outputLine(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => done(new Error(`no "${text}" within ${startTimeoutMs} ms`)), startTimeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) done();
    };
    const onExit = (code: number | null) => done(new Error(`it exited (${code}) before printing "${text}"`));
    const done = (error?: Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** The echo server: grpc-js with pass-through serializers, answering each request with itself. */
const echoServerSource = `
const grpc = require('@grpc/grpc-js');
const same = (bytes) => bytes;
const server = new grpc.Server();
server.addService(
  { echo: { path: '/bench.Echo/Echo', requestStream: false, responseStream: false,
            requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same } },
  { echo: (call, callback) => callback(null, call.request) },
);
server.bindAsync(process.argv[1], grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) { console.error(String(error)); process.exit(1); }
  console.log('ready');
});
`;

async function launchEcho(): Promise<System> {
  const server = spawn(process.execPath, ['-e', echoServerSource, echoAddress], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await outputLine(server, 'ready').catch(async (error: unknown) => {
    server.kill('SIGKILL');
    throw new Error(`the echo server did not start: ${String(error)}`);
  });
  const client = new Client(echoAddress, credentials.createInsecure());
  const same = (bytes: Buffer) => bytes;
  const payload = Buffer.concat([Buffer.from(keyOf(0)), value]);
  return {
    cpu: () => sampleCpu(new Map([['echo', server.pid]])),
    variants: [
      {
        workload: 'echo',
        system: 'grpc-js echo',
        label: 'grpc-js echo (116 bytes)',
        operation: () => () =>
          new Promise<void>((resolve, reject) => {
            client.makeUnaryRequest('/bench.Echo/Echo', same, same, payload, (error) =>
              error ? reject(error) : resolve(),
            );
          }),
      },
    ],
    stop: async () => {
      client.close();
      if (server.exitCode === null && server.signalCode === null) {
        server.kill('SIGTERM');
        await once(server, 'exit');
      }
    },
  };
}

function machineOf() {
  const version = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    return result.status === 0 ? (result.stdout.split('\n')[0] ?? '').trim() : 'not installed';
  };
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    etcd: version(etcdBinary() ?? 'etcd', ['--version']),
    redis: version('redis-server', ['--version']),
  };
}

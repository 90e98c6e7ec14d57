// etcd's v3lock, measured beside the lock service with the same client
// shape: a 3-member etcd cluster (the local `etcd` binary, Debian's
// etcd-server; BULWARK_BENCH_ETCD names another) on 127.77.83.1-3, one
// client process with one gRPC channel per member, each contender holding a
// lease of its own and cycling Lock then Unlock. The reference figures the
// lock issue sets its goal by were taken this way on an earlier day; a live
// run says what this machine does today.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { asIdleContender, percentile, runClosedLoop } from './closed-loop';
import { newCellId, warmupMsOf } from './kv-cells';
import { repoRoot } from './replica-fleet';

const memberHosts = ['127.77.83.1', '127.77.83.2', '127.77.83.3'];
const clientPort = 2379;
const peerPort = 2380;
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 10_000;
const callDeadlineMs = 35_000;

/** Contenders spread over the three members, or all on the first. */
export type EtcdSpread = 'all members' | 'member 1';

export interface EtcdLockCell {
  readonly cyclesPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

interface EtcdClients {
  readonly lock: Client & Record<'Lock' | 'Unlock', UnaryCall>;
  readonly lease: Client & Record<'LeaseGrant', UnaryCall>;
}

type UnaryCall = (
  request: object,
  options: { deadline: number },
  callback: (error: ServiceError | null, response: Record<string, unknown>) => void,
) => void;

export interface EtcdCluster {
  cell(kind: 'distinct' | 'hot', spread: EtcdSpread, contenders: number, cellMs: number): Promise<EtcdLockCell>;
  stop(): Promise<void>;
}

/**
 * The etcd binary to run: BULWARK_BENCH_ETCD, which must run (else this
 * throws, naming it), or `etcd` from the PATH, or undefined when there is
 * none (the comparison is then left out).
 */
export function etcdBinary(): string | undefined {
  const named = process.env['BULWARK_BENCH_ETCD'];
  const binary = named || 'etcd';
  if (spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0) return binary;
  if (named) throw new Error(`BULWARK_BENCH_ETCD=${named} does not run (${named} --version failed)`);
  return undefined;
}

function call<Method extends string>(
  client: Record<Method, UnaryCall>,
  method: Method,
  request: object,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    client[method].call(client, request, { deadline: Date.now() + callDeadlineMs }, (error, answer) =>
      error ? reject(new Error(`etcd ${method} failed: ${error.message}`)) : resolve(answer),
    );
  });
}

export async function launchEtcd(binary: string): Promise<EtcdCluster> {
  const dataRoot = mkdtempSync(join(tmpdir(), 'bulwark-bench-etcd-'));
  const initialCluster = memberHosts.map((host, index) => `e${index + 1}=http://${host}:${peerPort}`).join(',');
  const members: ChildProcess[] = memberHosts.map((host, index) =>
    spawn(
      binary,
      [
        ...['--name', `e${index + 1}`, '--data-dir', join(dataRoot, `e${index + 1}`)],
        ...[
          '--listen-client-urls',
          `http://${host}:${clientPort}`,
          '--advertise-client-urls',
          `http://${host}:${clientPort}`,
        ],
        ...[
          '--listen-peer-urls',
          `http://${host}:${peerPort}`,
          '--initial-advertise-peer-urls',
          `http://${host}:${peerPort}`,
        ],
        ...['--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--log-level', 'error'],
      ],
      { stdio: 'ignore' },
    ),
  );
  const exited = members.map((member) => new Promise<void>((resolve) => member.once('exit', () => resolve())));
  const definition = loadSync(['v3lock.proto', 'etcdserver.proto'], {
    includeDirs: [join(repoRoot, 'tools/bench/fixtures/etcd')],
    longs: String,
  });
  const packages = loadPackageDefinition(definition) as unknown as {
    v3lockpb: { Lock: new (address: string, channel: ReturnType<typeof credentials.createInsecure>) => Client };
    etcdserverpb: { Lease: new (address: string, channel: ReturnType<typeof credentials.createInsecure>) => Client };
  };
  const clients: EtcdClients[] = memberHosts.map((host) => ({
    lock: new packages.v3lockpb.Lock(`${host}:${clientPort}`, credentials.createInsecure()) as EtcdClients['lock'],
    lease: new packages.etcdserverpb.Lease(
      `${host}:${clientPort}`,
      credentials.createInsecure(),
    ) as EtcdClients['lease'],
  }));
  const stop = async () => {
    for (const { lock, lease } of clients) [lock, lease].forEach((client) => client.close());
    for (const member of members) member.kill('SIGTERM');
    const killing = setTimeout(() => members.forEach((member) => member.kill('SIGKILL')), stopTimeoutMs);
    await Promise.all(exited);
    clearTimeout(killing);
    rmSync(dataRoot, { recursive: true, force: true });
  };
  try {
    const deadlineMs = performance.now() + readyTimeoutMs;
    for (;;) {
      const granted = await call(clients[0]?.lease as EtcdClients['lease'], 'LeaseGrant', { TTL: 5 }).catch(
        (error: unknown) => error,
      );
      if (!(granted instanceof Error)) break;
      if (performance.now() > deadlineMs) throw new Error(`etcd was not ready within ${readyTimeoutMs} ms: ${granted}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    stop,
    async cell(kind, spread, contenders, cellMs) {
      const cellId = newCellId();
      const memberOf = (index: number) => (spread === 'member 1' ? 0 : index % clients.length);
      // Each lease outlives the cell, so a lock is only ever freed by Unlock.
      const ttlS = Math.ceil((warmupMsOf(cellMs) + cellMs) / 1_000) + 60;
      const idle = await Promise.all(
        Array.from({ length: contenders }, async (_, index) => {
          const member = clients[memberOf(index)] as EtcdClients;
          const lease = await call(member.lease, 'LeaseGrant', { TTL: ttlS });
          const name = Buffer.from(kind === 'hot' ? `bench/${cellId}/hot` : `bench/${cellId}/lock-${index}`);
          return { member, name, lease: lease['ID'] };
        }),
      );
      const { ops, elapsedMs, latenciesMs } = await runClosedLoop({
        inFlight: contenders,
        warmupMs: warmupMsOf(cellMs),
        durationMs: cellMs,
        operation: asIdleContender(idle, async ({ member, name, lease }) => {
          const locked = await call(member.lock, 'Lock', { name, lease });
          await call(member.lock, 'Unlock', { key: locked['key'] });
        }),
      });
      return {
        cyclesPerS: Math.round(ops / (elapsedMs / 1_000)),
        p50Ms: Number(percentile(latenciesMs, 0.5).toFixed(2)),
        p99Ms: Number(percentile(latenciesMs, 0.99).toFixed(2)),
      };
    },
  };
}

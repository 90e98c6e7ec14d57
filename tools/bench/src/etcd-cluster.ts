// A 3-member etcd cluster for the benchmarks that measure etcd beside
// Bulwark: the local `etcd` binary (Debian's etcd-server; BULWARK_BENCH_ETCD
// names another) on three loopback addresses, with production settings
// (fsync on, which is etcd's only mode), one gRPC channel per member for
// each service the benchmarks call, the members' pids for CPU, and kill -9
// and restart of a member for the failover comparison.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { sampleCpu, type CpuSample } from './process-cpu';
import { repoRoot } from './replica-fleet';

const clientPort = 2379;
const peerPort = 2380;
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 10_000;
const callDeadlineMs = 35_000;

export type UnaryCall = (
  request: object,
  options: { deadline: number },
  callback: (error: ServiceError | null, response: Record<string, unknown>) => void,
) => void;

/** The clients of one member: one channel per service. */
export interface EtcdMemberClients {
  readonly kv: Client & Record<'Put' | 'Range', UnaryCall>;
  readonly lock: Client & Record<'Lock' | 'Unlock', UnaryCall>;
  readonly lease: Client & Record<'LeaseGrant', UnaryCall>;
  readonly maintenance: Client & Record<'Status', UnaryCall>;
}

export interface EtcdCluster {
  /** Member i's clients (0, 1, 2). */
  readonly members: readonly EtcdMemberClients[];
  /** CPU of every member process (for serverCpuUs). */
  cpu(): CpuSample;
  /** The index of the member the others follow; rejects when none is known within the deadline. */
  leader(timeoutMs?: number): Promise<number>;
  /** kill -9 of member i; restart(i) brings it back on its data. */
  kill(index: number): Promise<void>;
  restart(index: number): void;
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

/** One unary call with the benchmarks' deadline; its error names the method. */
export function etcdCall<Method extends string>(
  client: Record<Method, UnaryCall>,
  method: Method,
  request: object,
  deadlineMs = callDeadlineMs,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    client[method].call(client, request, { deadline: Date.now() + deadlineMs }, (error, answer) =>
      error ? reject(new Error(`etcd ${method} failed: ${error.message}`)) : resolve(answer),
    );
  });
}

/** Starts 3 members on hosts (3 loopback addresses) and waits until the cluster grants a lease. */
export async function launchEtcdCluster(binary: string, hosts: readonly string[]): Promise<EtcdCluster> {
  const dataRoot = mkdtempSync(join(tmpdir(), 'bulwark-bench-etcd-'));
  const initialCluster = hosts.map((host, index) => `e${index + 1}=http://${host}:${peerPort}`).join(',');
  const argsOf = (host: string, index: number, state: 'new' | 'existing') => [
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
    ...['--initial-cluster', initialCluster, '--initial-cluster-state', state, '--log-level', 'error'],
  ];
  const processes: (ChildProcess | undefined)[] = hosts.map((host, index) =>
    spawn(binary, argsOf(host, index, 'new'), { stdio: 'ignore' }),
  );
  const exitOf = (member: ChildProcess) =>
    new Promise<void>((resolve) => (member.exitCode !== null ? resolve() : member.once('exit', () => resolve())));
  const definition = loadSync(['v3lock.proto', 'etcdserver.proto'], {
    includeDirs: [join(repoRoot, 'tools/bench/fixtures/etcd')],
    longs: String,
  });
  type Constructor = new (address: string, channel: ReturnType<typeof credentials.createInsecure>) => Client;
  const packages = loadPackageDefinition(definition) as unknown as {
    v3lockpb: { Lock: Constructor };
    etcdserverpb: { Lease: Constructor; KV: Constructor; Maintenance: Constructor };
  };
  const members: EtcdMemberClients[] = hosts.map((host) => {
    const address = `${host}:${clientPort}`;
    const insecure = credentials.createInsecure();
    return {
      kv: new packages.etcdserverpb.KV(address, insecure) as EtcdMemberClients['kv'],
      lock: new packages.v3lockpb.Lock(address, insecure) as EtcdMemberClients['lock'],
      lease: new packages.etcdserverpb.Lease(address, insecure) as EtcdMemberClients['lease'],
      maintenance: new packages.etcdserverpb.Maintenance(address, insecure) as EtcdMemberClients['maintenance'],
    };
  });
  const stop = async () => {
    for (const clients of members) Object.values(clients).forEach((client: Client) => client.close());
    const running = processes.filter((member): member is ChildProcess => member !== undefined);
    for (const member of running) member.kill('SIGTERM');
    const killing = setTimeout(() => running.forEach((member) => member.kill('SIGKILL')), stopTimeoutMs);
    await Promise.all(running.map(exitOf));
    clearTimeout(killing);
    rmSync(dataRoot, { recursive: true, force: true });
  };
  const cluster: EtcdCluster = {
    members,
    cpu: () => sampleCpu(new Map(processes.map((member, index) => [`etcd-${index + 1}`, member?.pid]))),
    async leader(timeoutMs = readyTimeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const answers = await Promise.all(
          members.map((clients) => etcdCall(clients.maintenance, 'Status', {}, 1_000).catch(() => undefined)),
        );
        // Members answer with their own id and the leader they know: the leader is the one whose id that is.
        const leaderId = answers.find((answer) => answer && answer['leader'] !== '0')?.['leader'];
        const index = answers.findIndex(
          (answer) => (answer?.['header'] as Record<string, unknown> | undefined)?.['memberId'] === leaderId,
        );
        if (leaderId !== undefined && index >= 0) return index;
        if (performance.now() > deadline) throw new Error(`no etcd leader within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async kill(index) {
      const member = processes[index];
      if (!member) return;
      processes[index] = undefined;
      member.kill('SIGKILL');
      await exitOf(member);
    },
    restart(index) {
      if (processes[index]) return;
      processes[index] = spawn(binary, argsOf(hosts[index] as string, index, 'existing'), { stdio: 'ignore' });
    },
    stop,
  };
  try {
    const deadlineMs = performance.now() + readyTimeoutMs;
    for (;;) {
      const granted = await etcdCall(members[0]?.lease as EtcdMemberClients['lease'], 'LeaseGrant', { TTL: 5 }).catch(
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
  return cluster;
}

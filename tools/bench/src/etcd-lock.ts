// etcd's v3lock, measured beside the lock service with the same client
// shape: a 3-member etcd cluster (the local `etcd` binary, Debian's
// etcd-server; BULWARK_BENCH_ETCD names another) on 127.77.83.1-3, one
// client process with one gRPC channel per member, each contender holding a
// lease of its own and cycling Lock then Unlock. The reference figures the
// lock issue sets its goal by were taken this way on an earlier day; a live
// run says what this machine does today.
import { asIdleContender, percentile, runClosedLoop } from './closed-loop';
import { etcdCall, launchEtcdCluster, type EtcdMemberClients } from './etcd-cluster';
import { newCellId, warmupMsOf } from './kv-cells';

const memberHosts = ['127.77.83.1', '127.77.83.2', '127.77.83.3'];

/** Contenders spread over the three members, or all on the first. */
export type EtcdSpread = 'all members' | 'member 1';

export interface EtcdLockCell {
  readonly cyclesPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface EtcdLockBench {
  cell(kind: 'distinct' | 'hot', spread: EtcdSpread, contenders: number, cellMs: number): Promise<EtcdLockCell>;
  stop(): Promise<void>;
}

export async function launchEtcd(binary: string): Promise<EtcdLockBench> {
  const cluster = await launchEtcdCluster(binary, memberHosts);
  const clients = cluster.members;
  return {
    stop: () => cluster.stop(),
    async cell(kind, spread, contenders, cellMs) {
      const cellId = newCellId();
      const memberOf = (index: number) => (spread === 'member 1' ? 0 : index % clients.length);
      // Each lease outlives the cell, so a lock is only ever freed by Unlock.
      const ttlS = Math.ceil((warmupMsOf(cellMs) + cellMs) / 1_000) + 60;
      const idle = await Promise.all(
        Array.from({ length: contenders }, async (_, index) => {
          const member = clients[memberOf(index)] as EtcdMemberClients;
          const lease = await etcdCall(member.lease, 'LeaseGrant', { TTL: ttlS });
          const name = Buffer.from(kind === 'hot' ? `bench/${cellId}/hot` : `bench/${cellId}/lock-${index}`);
          return { member, name, lease: lease['ID'] };
        }),
      );
      const { ops, elapsedMs, latenciesMs } = await runClosedLoop({
        inFlight: contenders,
        warmupMs: warmupMsOf(cellMs),
        durationMs: cellMs,
        operation: asIdleContender(idle, async ({ member, name, lease }) => {
          const locked = await etcdCall(member.lock, 'Lock', { name, lease });
          await etcdCall(member.lock, 'Unlock', { key: locked['key'] });
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

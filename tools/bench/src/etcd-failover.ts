// etcd's leader failover, measured as replica-failover.ts measures
// Bulwark's: kill -9 of the leader, then the time until a Put is
// acknowledged. The writer sends one Put at a time, each attempt bounded by
// 1 s, to the surviving members in turn (as clientv3 moves past a member
// that fails); a follower forwards to the leader once one is elected. The
// killed member is restarted and the cluster agrees on a leader again
// before the next kill, so every kill starts from a whole cluster.
import { performance } from 'node:perf_hooks';
import { etcdCall, type EtcdCluster } from './etcd-cluster';

/** A kill is given up on when no Put is acknowledged within this. */
const giveUpMs = 30_000;
/** How long a restarted member may take to rejoin, knowing the leader. */
const rejoinTimeoutMs = 60_000;
const attemptDeadlineMs = 1_000;
/** Between failed attempts, so a cluster without a leader is not asked in a tight loop. */
const retryPauseMs = 5;
const value = Buffer.alloc(100, 'f');

export interface EtcdFailover {
  /** The killed leader's member index. */
  readonly killed: number;
  /** Kill to the first acknowledged Put; undefined when given up on. */
  readonly ackMs?: number;
  /** Restart of the killed member to the whole cluster agreeing on a leader. */
  readonly rejoinMs?: number;
  readonly note?: string;
}

const pause = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));

/** `kills` leader failovers in a row; a member that does not come back ends the series. */
export async function measureEtcdFailovers(cluster: EtcdCluster, kills: number): Promise<EtcdFailover[]> {
  const results: EtcdFailover[] = [];
  for (let kill = 0; kill < kills; kill++) {
    const leader = await cluster.leader();
    // Every member answers a Put first: no channel is in backoff when the kill comes.
    for (const member of cluster.members) await etcdCall(member.kv, 'Put', { key: Buffer.from('failover'), value });
    const survivors = cluster.members.filter((_, index) => index !== leader);
    const killedAtMs = performance.now();
    const killing = cluster.kill(leader);
    let ackMs: number | undefined;
    let lastError = '';
    for (let n = 0; performance.now() - killedAtMs < giveUpMs; n++) {
      const member = survivors[n % survivors.length] as EtcdCluster['members'][number];
      try {
        await etcdCall(member.kv, 'Put', { key: Buffer.from(`failover-${kill}`), value }, attemptDeadlineMs);
        ackMs = performance.now() - killedAtMs;
        break;
      } catch (error) {
        lastError = String(error);
        await pause(retryPauseMs);
      }
    }
    await killing;
    const rejoinStartMs = performance.now();
    cluster.restart(leader);
    try {
      await rejoin(cluster, leader);
    } catch (error) {
      results.push({ killed: leader, ...(ackMs === undefined ? {} : { ackMs }), note: `series ended: ${error}` });
      break;
    }
    results.push({
      killed: leader,
      rejoinMs: performance.now() - rejoinStartMs,
      ...(ackMs === undefined ? { note: `no Put acknowledged within ${giveUpMs} ms (${lastError})` } : { ackMs }),
    });
  }
  return results;
}

/** Until the restarted member answers Status and every member names the same leader. */
async function rejoin(cluster: EtcdCluster, restarted: number): Promise<void> {
  const deadline = performance.now() + rejoinTimeoutMs;
  for (;;) {
    const leaders = await Promise.all(
      cluster.members.map((member) =>
        etcdCall(member.maintenance, 'Status', {}, 1_000).then(
          (status) => String(status['leader']),
          () => 'unanswered',
        ),
      ),
    );
    const [first] = leaders;
    if (first !== '0' && first !== 'unanswered' && leaders.every((leader) => leader === first)) return;
    if (performance.now() > deadline) {
      throw new Error(
        `etcd member ${restarted + 1} did not rejoin within ${rejoinTimeoutMs} ms (${leaders.join(', ')})`,
      );
    }
    await pause(50);
  }
}

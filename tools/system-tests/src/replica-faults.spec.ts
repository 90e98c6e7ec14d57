// More of the replica issue's acceptance, with real processes on real disks
// run by the launcher: a primary returning with writes nobody acknowledged
// truncates them and every member converges; a primary paused past its
// lease is replaced and, resumed, completes nothing; all members killed
// during heavy writes restart from their WALs. Histories are checked for
// linearizability and kept as check-history JSON lines.
import { NotLeaderError, UnavailableError } from '@bulwark/errors';
import { checkLinearizability } from '@bulwark/history';
import { Metadata } from '@grpc/grpc-js';
import { healthV1, kvV1, shardV1 } from '@bulwark/contracts';
import { seededUniform } from '@bulwark/random';
import { callUnary, createClient } from '@bulwark/rpc';
import {
  durableState,
  eventually,
  keysOf,
  launchReplicaGroup,
  putRequest,
  replicaNames,
  signal,
  stateDigest,
  writeHistory,
  type ReplicaGroupFleet,
  type ReplicaName,
} from './support/replica-group';
import { startWorkload, type Workload } from './support/kv-workload';

describe('a sync replica group under process faults', () => {
  let fleet: ReplicaGroupFleet;

  beforeAll(async () => {
    fleet = await launchReplicaGroup('127.77.64');
  }, 90_000);

  afterAll(async () => fleet?.stop());

  const workloadOn = (prefix: string, seed: number, clients = 4): Workload =>
    startWorkload({
      shards: fleet.shards,
      clients,
      keys: keysOf(prefix),
      random: seededUniform(seed),
      callDeadlineMs: 2_000,
      retryForMs: 15_000,
      locate: async () => (await fleet.group()).primary as ReplicaName,
    });

  async function finish(workload: Workload, prefix: string, name: string): Promise<void> {
    await workload.stop();
    await workload.readEach(keysOf(prefix), 20_000);
    const history = workload.recorder.operations;
    const file = writeHistory(name, history);
    process.stdout.write(`history of ${history.length} operations: ${file}\n`);
    expect(checkLinearizability(history).verdict).toBe('linearizable');
  }

  /** Every member at the same applied sequence with the same keys, values and versions. */
  const converged = () =>
    eventually('every member to converge', 30_000, async () => {
      const states = await Promise.all(replicaNames.map((name) => stateDigest(fleet, name)));
      const [first] = states;
      return states.every((state) => state.sequence === first?.sequence && state.digest === first?.digest)
        ? states
        : undefined;
    });

  it('truncates the unacknowledged suffix of a primary that returns, and every member converges', async () => {
    const workload = workloadOn('suffix-', 21);
    await workload.progress(30, 30_000);
    const before = await fleet.group();
    const primary = before.primary as ReplicaName;
    const backups = before.members.filter((member) => member !== primary) as ReplicaName[];
    // Both backups die: what the primary takes now reaches no one and cannot commit. Kill it
    // too before it would drop them from the in-sync set (the ack timeout, 500 ms).
    const backupsEnd = await Promise.all(backups.map((backup) => durableState(fleet, backup)));
    await Promise.all(backups.map((backup) => fleet.launched.fleet.kill(backup, 'SIGKILL')));
    const highestBackup = backupsEnd.reduce((high, end) => (end.sequence > high ? end.sequence : high), 0n);
    const oldEnd = await eventually('the primary to hold writes nobody acknowledged', 2_000, async () => {
      const state = await durableState(fleet, primary);
      return state.sequence > highestBackup ? state : undefined;
    });
    await fleet.launched.fleet.kill(primary, 'SIGKILL');
    for (const backup of backups) fleet.launched.fleet.start(backup);
    // A backup leads the next epoch; the old primary's entries after the backups' ends were never acknowledged.
    const after = await eventually('a backup to lead', 30_000, async () => {
      const group = await fleet.group();
      return group.primary !== primary && group.epoch > before.epoch ? group : undefined;
    });
    await workload.progress(30, 30_000);
    fleet.launched.fleet.start(primary);
    await fleet.launched.fleet.waitHealthy(30_000, [primary]);
    await eventually('the old primary back in sync', 30_000, async () => {
      const group = await fleet.group();
      return group.inSync.includes(primary) ? group : undefined;
    });
    await finish(workload, 'suffix-', 'replica-divergent-suffix');
    const states = await converged();
    const returned = await eventually('the old primary to answer', 10_000, () => durableState(fleet, primary));
    process.stdout.write(
      `old primary ended at ${oldEnd.sequence}@${oldEnd.epoch}, its backups at ${highestBackup}; ` +
        `it now ends at ${returned.sequence}@${returned.epoch}, with ${states[0]?.keys} keys applied at ${states[0]?.sequence} on every member\n`,
    );
    expect(oldEnd.sequence).toBeGreaterThan(highestBackup);
    expect(returned.epoch).toBeGreaterThanOrEqual(after.epoch);
  }, 180_000);

  it('keeps a primary paused for 300 ms: no failover, the same epoch', async () => {
    const workload = workloadOn('short-', 24);
    await workload.progress(30, 30_000);
    const before = await fleet.group();
    signal(fleet, before.primary, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 300));
    signal(fleet, before.primary, 'SIGCONT');
    // Well past the lease (600 ms) and the leader's failover check: had the lease lapsed, the epoch would have moved.
    await workload.progress(100, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await fleet.group();
    await finish(workload, 'short-', 'replica-short-pause');
    expect([after.primary, after.epoch]).toEqual([before.primary, before.epoch]);
  }, 120_000);

  it('replaces a primary paused past its lease, which completes nothing once resumed', async () => {
    const workload = workloadOn('pause-', 22);
    await workload.progress(30, 30_000);
    const before = await fleet.group();
    const paused = before.primary as ReplicaName;
    const shard = fleet.shards.get(paused) as shardV1.ShardClient;
    const outcomes: string[] = [];
    signal(fleet, paused, 'SIGSTOP');
    try {
      await eventually('a new primary', 20_000, async () => {
        const group = await fleet.group();
        return group.primary !== paused && group.epoch > before.epoch ? group : undefined;
      });
      await workload.progress(30, 30_000);
    } finally {
      signal(fleet, paused, 'SIGCONT');
    }
    // At once after it resumes, and for a while: no write and no STRONG read succeeds there.
    const until = Date.now() + 1_000;
    while (Date.now() < until) {
      const write = callUnary(shard, shard.put, putRequest('pause-direct', 'late'), { deadlineMs: 1_000 });
      const read = callUnary(
        shard,
        shard.get,
        {
          groupId: 'group-a',
          request: { key: 'pause-0', consistency: kvV1.Consistency.CONSISTENCY_STRONG, maxStalenessMs: 0 },
        },
        { deadlineMs: 1_000 },
      );
      for (const result of await Promise.allSettled([write, read])) {
        if (result.status === 'fulfilled') outcomes.push('answered');
        else
          outcomes.push(
            result.reason instanceof NotLeaderError || result.reason instanceof UnavailableError
              ? 'refused'
              : String(result.reason),
          );
      }
    }
    await finish(workload, 'pause-', 'replica-paused-primary');
    expect(outcomes.length).toBeGreaterThan(0);
    expect(new Set(outcomes)).toEqual(new Set(['refused']));
  }, 120_000);

  it('reports a returning backup NOT_SERVING while it catches up, then SERVING', async () => {
    const group = await fleet.group();
    const backup = group.members.find((member) => member !== group.primary) as ReplicaName;
    await fleet.launched.fleet.kill(backup, 'SIGKILL');
    const workload = workloadOn('catch-up-', 25, 8);
    await workload.progress(3_000, 60_000);
    await workload.stop();
    // Watch its health from before it starts: the stream connects once it serves, and sees every status from then on.
    // Reconnecting at once, not after grpc-js's default backoff of a second or more.
    const health = createClient(healthV1.HealthClient, fleet.launched.address(backup, 7100), {
      'grpc.initial_reconnect_backoff_ms': 10,
      'grpc.max_reconnect_backoff_ms': 50,
    });
    const statuses: string[] = [];
    const serving = new Promise<void>((resolve, reject) => {
      const metadata = new Metadata({ waitForReady: true });
      const stream = health.watch({ service: '' }, metadata, { deadline: Date.now() + 60_000 });
      stream.on('data', (response: healthV1.HealthCheckResponse) => {
        statuses.push(healthV1.HealthCheckResponse_ServingStatus[response.status]);
        if (response.status === healthV1.HealthCheckResponse_ServingStatus.SERVING) {
          stream.cancel();
          resolve();
        }
      });
      stream.on('error', (error) => (statuses.at(-1) === 'SERVING' ? resolve() : reject(error)));
    });
    fleet.launched.fleet.start(backup);
    await serving;
    health.close();
    expect(statuses[0]).toBe('NOT_SERVING');
    expect(statuses.at(-1)).toBe('SERVING');
  }, 120_000);

  it('restarts every member from its WAL after all of them are killed during heavy writes', async () => {
    const workload = workloadOn('all-', 23, 8);
    await workload.progress(200, 30_000);
    const ends = await Promise.all(replicaNames.map((name) => durableState(fleet, name)));
    await Promise.all(replicaNames.map((name) => fleet.launched.fleet.kill(name, 'SIGKILL')));
    for (const name of replicaNames) fleet.launched.fleet.start(name);
    await fleet.launched.fleet.waitHealthy(30_000, [...replicaNames]);
    const recovered = await Promise.all(
      replicaNames.map((name) => eventually(`${name} to answer`, 10_000, () => durableState(fleet, name))),
    );
    await workload.progress(100, 30_000);
    await finish(workload, 'all-', 'replica-all-killed');
    await converged();
    recovered.forEach((state, index) => expect(state.sequence).toBeGreaterThanOrEqual(ends[index]?.sequence ?? 0n));
  }, 180_000);
});

// The replica issue's acceptance under faults, with real processes on real
// disks, run by the launcher: concurrent clients write, compare-and-set,
// delete and read STRONG while the primary is killed with SIGKILL ten times
// (restarted each time). Every operation is recorded; the history must be
// linearizable (so every acknowledged write is there), and is written as
// JSON lines in the check-history format for any other checker.
import { checkLinearizability } from '@bulwark/history';
import { seededUniform } from '@bulwark/random';
import {
  eventually,
  keysOf,
  launchReplicaGroup,
  signal,
  writeHistory,
  type ReplicaGroupFleet,
  type ReplicaName,
} from './support/replica-group';
import { startWorkload } from './support/kv-workload';

const kills = 10;

describe('a sync replica group whose primary is killed again and again', () => {
  let fleet: ReplicaGroupFleet;

  beforeAll(async () => {
    fleet = await launchReplicaGroup('127.77.62');
  }, 90_000);

  afterAll(async () => fleet?.stop());

  it(`loses no acknowledged write across ${kills} kills of the primary, and its history is linearizable`, async () => {
    const workload = startWorkload({
      shards: fleet.shards,
      clients: 4,
      keys: keysOf('kill-'),
      random: seededUniform(16),
      callDeadlineMs: 2_000,
      retryForMs: 10_000,
      locate: async () => (await fleet.group()).primary as ReplicaName,
    });
    await workload.progress(50, 30_000);
    const primaries: string[] = [];
    for (let kill = 0; kill < kills; kill++) {
      const group = await fleet.group();
      const primary = group.primary as ReplicaName;
      primaries.push(`${primary}@${group.epoch}`);
      await fleet.launched.fleet.kill(primary, 'SIGKILL');
      // The group serves again once writes succeed under a new primary.
      await workload.progress(30, 30_000);
      fleet.launched.fleet.start(primary);
      await fleet.launched.fleet.waitHealthy(30_000, [primary]);
      await workload.progress(20, 30_000);
    }
    await workload.stop();
    // Every key read once more, STRONG, after the last kill: an acknowledged write that was lost shows here.
    await workload.readEach(keysOf('kill-'), 20_000);
    const history = workload.recorder.operations;
    const file = writeHistory('replica-failover', history);
    process.stdout.write(`history of ${history.length} operations (primaries ${primaries.join(', ')}): ${file}\n`);
    const result = checkLinearizability(history);
    expect(result.verdict).toBe('linearizable');
    expect(new Set(primaries.map((entry) => entry.split('@')[0])).size).toBeGreaterThan(1);
  }, 300_000);

  it('drops silent backups from the in-sync set before it acknowledges more, so a kill then loses nothing', async () => {
    const workload = startWorkload({
      shards: fleet.shards,
      clients: 4,
      keys: keysOf('silent-'),
      random: seededUniform(17),
      callDeadlineMs: 2_000,
      retryForMs: 15_000,
      locate: async () => (await fleet.group()).primary as ReplicaName,
    });
    await workload.progress(30, 30_000);
    const before = await fleet.group();
    const primary = before.primary as ReplicaName;
    const backups = before.members.filter((member) => member !== primary);
    let inSyncAlone: string[] = [];
    try {
      for (const backup of backups) signal(fleet, backup, 'SIGSTOP');
      // Writes go on once the primary has the coordinator drop the silent backups from the in-sync set.
      await workload.progress(30, 30_000);
      inSyncAlone = [...(await fleet.group()).inSync];
      await fleet.launched.fleet.kill(primary, 'SIGKILL');
    } finally {
      for (const backup of backups) signal(fleet, backup, 'SIGCONT');
    }
    // Only the killed primary holds every acknowledged write: the group waits for it to return.
    fleet.launched.fleet.start(primary);
    await fleet.launched.fleet.waitHealthy(30_000, [primary]);
    await workload.progress(30, 30_000);
    const after = await eventually('the backups back in sync', 20_000, async () => {
      const group = await fleet.group();
      return group.inSync.length === 3 ? group : undefined;
    });
    await workload.stop();
    await workload.readEach(keysOf('silent-'), 20_000);
    const history = workload.recorder.operations;
    const file = writeHistory('replica-silent-backups', history);
    process.stdout.write(`history of ${history.length} operations: ${file}\n`);
    expect(inSyncAlone).toEqual([primary]);
    expect(after.primary).toBe(primary);
    expect(checkLinearizability(history).verdict).toBe('linearizable');
  }, 120_000);
});

// Catch-up from a snapshot, with real processes run by the launcher: a group
// that snapshots every 200 entries or so and keeps only 20 before each
// snapshot. A backup down while many more are written comes back behind its
// primary's log start: it fetches the primary's snapshot (FetchSnapshot),
// installs it, catches up from the log, rejoins the in-sync set, and every
// member ends with the same state; its restart later starts from the
// snapshot on its own disk.
import { checkLinearizability } from '@bulwark/history';
import { seededUniform } from '@bulwark/random';
import { startWorkload } from './support/kv-workload';
import {
  durableState,
  eventually,
  keysOf,
  launchReplicaGroup,
  replicaNames,
  stateDigest,
  writeHistory,
  type ReplicaGroupFleet,
  type ReplicaName,
} from './support/replica-group';

describe('a replica group that snapshots', () => {
  let fleet: ReplicaGroupFleet;

  beforeAll(async () => {
    fleet = await launchReplicaGroup('127.77.68', 'snapshots');
  }, 90_000);

  afterAll(async () => fleet?.stop());

  it('brings a backup that fell behind the log start back from the primary snapshot', async () => {
    const group = await fleet.group();
    const backup = group.members.find((member) => member !== group.primary) as ReplicaName;
    const behind = await durableState(fleet, backup);
    await fleet.launched.fleet.kill(backup, 'SIGKILL');
    const workload = startWorkload({
      shards: fleet.shards,
      clients: 8,
      keys: keysOf('snap-'),
      random: seededUniform(41),
      callDeadlineMs: 2_000,
      retryForMs: 15_000,
      locate: async () => (await fleet.group()).primary as ReplicaName,
    });
    // Well past two snapshots of at most 300 entries, and so past what the primary keeps.
    await workload.progress(1_500, 60_000);
    const installed = fleet.launched.fleet.waitForEvent(
      (event) =>
        event.type === 'output' && event.service === backup && event.line.includes('installed the primary snapshot'),
      60_000,
    );
    fleet.launched.fleet.start(backup);
    await installed;
    await fleet.launched.fleet.waitHealthy(60_000, [backup]);
    await eventually('the backup back in the in-sync set', 30_000, async () => {
      const current = await fleet.group();
      return current.inSync.includes(backup) ? current : undefined;
    });
    await workload.stop();
    await workload.readEach(keysOf('snap-'), 20_000);
    const history = workload.recorder.operations;
    const file = writeHistory('replica-snapshot-catch-up', history);
    process.stdout.write(`history of ${history.length} operations: ${file}\n`);
    expect(checkLinearizability(history).verdict).toBe('linearizable');
    const states = await eventually('every member to converge', 30_000, async () => {
      const all = await Promise.all(replicaNames.map((name) => stateDigest(fleet, name)));
      return all.every((state) => state.sequence === all[0]?.sequence && state.digest === all[0]?.digest)
        ? all
        : undefined;
    });
    expect(states[0]?.sequence).toBeGreaterThan(behind.sequence + 1_000n);

    // The installed snapshot is on its disk: a restart starts from it.
    await fleet.launched.fleet.kill(backup, 'SIGKILL');
    fleet.launched.fleet.start(backup);
    await fleet.launched.fleet.waitHealthy(60_000, [backup]);
    const restarted = await eventually(`${backup} to answer`, 10_000, () => durableState(fleet, backup));
    expect(restarted.sequence).toBeGreaterThanOrEqual(states[0]?.sequence ?? 0n);
  }, 180_000);
});

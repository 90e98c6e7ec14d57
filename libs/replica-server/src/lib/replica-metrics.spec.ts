import { registry } from '@bulwark/metrics';
import { parseMetrics, samplesOf, valueOf, type Scrape } from '@bulwark/metrics/testing';
import { defaultReplicationSettings } from '@bulwark/replication';
import { ManualGroup } from '@bulwark/replication/testing';
import { observeWalSync, readReplicaMetrics } from './replica-metrics';

const scrape = async (): Promise<Scrape> => parseMetrics(await registry.metrics());
const group = { group: 'group-a' };

describe('replica metrics', () => {
  it("read a member's role and epoch, and on a primary its in-sync set and each backup's lag, at each scrape", async () => {
    const replicas = new ManualGroup(['r1', 'r2', 'r3'], { ...defaultReplicationSettings, batchEntriesMax: 1 });
    replicas.setView({});
    replicas.grantLease('r1');
    replicas.deliver();
    const stopPrimary = readReplicaMetrics('group-a', () => replicas.node('r1'));
    const caughtUp = await scrape();
    expect(valueOf(caughtUp, 'bulwark_replica_is_primary', group)).toBe(1);
    expect(valueOf(caughtUp, 'bulwark_replica_epoch', group)).toBe(1);
    expect(valueOf(caughtUp, 'bulwark_replication_in_sync_members', group)).toBe(3);
    for (const member of ['r2', 'r3']) {
      expect(valueOf(caughtUp, 'bulwark_replication_lag_entries', { ...group, member })).toBe(0);
      expect(valueOf(caughtUp, 'bulwark_replication_lag_seconds', { ...group, member })).toBe(0);
    }

    // r3 hears nothing of a write for 40 ms.
    replicas.put('r1', 'k', 'v');
    const toR3 = (message: { to: string }) => message.to === 'r3';
    replicas.deliver((message) => !toR3(message), toR3);
    replicas.advanceTime(40);
    replicas.deliver((message) => !toR3(message), toR3);
    const behind = await scrape();
    expect(valueOf(behind, 'bulwark_replication_lag_entries', { ...group, member: 'r2' })).toBe(0);
    expect(valueOf(behind, 'bulwark_replication_lag_entries', { ...group, member: 'r3' })).toBe(1);
    expect(valueOf(behind, 'bulwark_replication_lag_seconds', { ...group, member: 'r3' })).toBeCloseTo(0.04);
    stopPrimary();

    const stopBackup = readReplicaMetrics('group-a', () => replicas.node('r2'));
    const backup = await scrape();
    expect(valueOf(backup, 'bulwark_replica_is_primary', group)).toBe(0);
    expect(valueOf(backup, 'bulwark_replica_epoch', group)).toBe(1);
    // Lag and the in-sync set are the primary's to tell.
    expect(samplesOf(backup, 'bulwark_replication_lag_entries')).toEqual([]);
    expect(samplesOf(backup, 'bulwark_replication_in_sync_members')).toEqual([]);
    stopBackup();
    expect(samplesOf(await scrape(), 'bulwark_replica_epoch')).toEqual([]);
  });

  it('observes each group commit: its fdatasync time and the entries it made durable', async () => {
    observeWalSync({ entries: 3, seconds: 0.00015 });
    observeWalSync({ entries: 0, seconds: 0.003 });
    const scraped = await scrape();
    expect(valueOf(scraped, 'bulwark_wal_fsync_seconds_count')).toBe(2);
    expect(valueOf(scraped, 'bulwark_wal_fsync_seconds_bucket', { le: '0.0002' })).toBe(1);
    expect(valueOf(scraped, 'bulwark_wal_fsync_seconds_sum')).toBeCloseTo(0.00315);
    expect(valueOf(scraped, 'bulwark_wal_group_commit_entries_bucket', { le: '1' })).toBe(1);
    expect(valueOf(scraped, 'bulwark_wal_group_commit_entries_bucket', { le: '4' })).toBe(2);
    expect(valueOf(scraped, 'bulwark_wal_group_commit_entries_sum')).toBe(3);
  });
});

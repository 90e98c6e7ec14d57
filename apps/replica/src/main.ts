import {
  ConfigError,
  formatHostPort,
  hostPortList,
  int,
  memberIdList,
  memberIdPattern,
  oneOf,
  string,
  writableDirectory,
} from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerOnStart } from '@bulwark/coordinator-client';
import { Replica, replicationReceiveBytesMax } from '@bulwark/replica-server';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';

let replica: Replica | undefined;

void runService({
  service: 'replica',
  defaultPort: 7100,
  // The largest message is a replication batch; client requests are refused above the value limit, naming the field.
  receiveMessageBytesMax: replicationReceiveBytesMax,
  settings: {
    groupId: string('BULWARK_GROUP_ID', { pattern: memberIdPattern }),
    groupMembers: memberIdList('BULWARK_GROUP_MEMBERS', { min: 1, max: 7, fallback: [] }),
    groupMode: oneOf('BULWARK_GROUP_MODE', ['sync', 'async'] as const, 'sync'),
    coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }),
    dataDir: writableDirectory('BULWARK_DATA_DIR'),
    clockDriftMs: int('BULWARK_CLOCK_DRIFT_MS', { min: 0, max: 60_000, default: 60 }),
    // At most 65,535: a scan page token holds its prefix's length in 16 bits.
    keyBytesMax: int('BULWARK_KEY_BYTES_MAX', { min: 1, max: 65_535, default: 1_024 }),
    valueBytesMax: int('BULWARK_VALUE_BYTES_MAX', { min: 1, max: 4 * 1024 * 1024, default: 1024 * 1024 }),
    totalBytesMax: int('BULWARK_TOTAL_BYTES_MAX', { min: 1024 * 1024, max: 2 ** 50, default: 1024 ** 3 }),
    // A replication batch always carries one entry, whatever its size; the receive limit is 8 MiB.
    snapshotEveryEntries: int('BULWARK_SNAPSHOT_EVERY_ENTRIES', { min: 100, max: 100_000_000, default: 100_000 }),
    snapshotKeepEntries: int('BULWARK_SNAPSHOT_KEEP_ENTRIES', { min: 0, max: 100_000_000, default: 10_000 }),
    batchBytesMax: int('BULWARK_BATCH_BYTES_MAX', { min: 1024, max: 4 * 1024 * 1024, default: 4 * 1024 * 1024 }),
  },
  validate: (config) => {
    if (config.groupMembers.length > 0 && !config.groupMembers.includes(config.memberId)) {
      throw new ConfigError(
        'BULWARK_GROUP_MEMBERS',
        `must include this member (BULWARK_MEMBER_ID=${config.memberId}), or be unset`,
      );
    }
  },
  prepare: async (config, logger) => {
    replica = await Replica.open({
      memberId: config.memberId,
      groupId: config.groupId,
      groupMembers: config.groupMembers,
      mode: config.groupMode,
      coordinators: config.coordinators.map(formatHostPort),
      dataDir: config.dataDir,
      logger,
      clockDriftMs: config.clockDriftMs,
      replication: { batchBytesMax: config.batchBytesMax },
      snapshotEveryEntries: config.snapshotEveryEntries,
      snapshotKeepEntries: config.snapshotKeepEntries,
      limits: {
        keyBytesMax: config.keyBytesMax,
        valueBytesMax: config.valueBytesMax,
        totalBytesMax: config.totalBytesMax,
      },
    });
  },
  services: (kit) => {
    if (!replica) throw new Error('prepare opens the replica before the services are built');
    return replica.services(kit);
  },
  started: (config, logger, server) => {
    registerOnStart(coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA)(config, logger, server);
    replica?.start(server);
  },
  onStopped: [async () => replica?.stop(), flushTelemetry],
});

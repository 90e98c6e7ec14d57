import { ConfigError, formatHostPort, int, peers, writableDirectory } from '@bulwark/config';
import { Coordinator, peerReceiveBytesMax } from '@bulwark/coordinator-server';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';

let coordinator: Coordinator | undefined;

void runService({
  service: 'coordinator',
  defaultPort: 7001,
  // The largest message is a peer batch (snapshots travel in chunks); client
  // requests are refused above commandBytesMax, naming the field, before anything is proposed.
  receiveMessageBytesMax: peerReceiveBytesMax,
  settings: {
    peers: peers('BULWARK_PEERS', { min: 3, max: 5 }),
    dataDir: writableDirectory('BULWARK_DATA_DIR'),
    tickMs: int('BULWARK_PAXOS_TICK_MS', { min: 5, max: 1_000, default: 50 }),
    // Sub-second failover: a primary renews every third of its lease (200 ms), so a 600 ms lease rides out
    // a 300 ms pause, and a dead primary's group fails over about lease + drift after its last renewal.
    primaryLeaseMs: int('BULWARK_PRIMARY_LEASE_MS', { min: 200, max: 60_000, default: 600 }),
    clockDriftMs: int('BULWARK_CLOCK_DRIFT_MS', { min: 0, max: 30_000, default: 60 }),
  },
  // Static membership: an odd number of peers (3 or 5), this member among them.
  validate: (config) => {
    // The primary acts for lease - drift of each lease: with drift at half the lease or more it would act for half or less.
    if (config.clockDriftMs * 2 >= config.primaryLeaseMs) {
      throw new ConfigError(
        'BULWARK_CLOCK_DRIFT_MS',
        `must be less than half of BULWARK_PRIMARY_LEASE_MS (${config.primaryLeaseMs}), got ${config.clockDriftMs}`,
      );
    }
    if (config.peers.length % 2 === 0) {
      throw new ConfigError('BULWARK_PEERS', `must list 3 or 5 peers, got ${config.peers.length}`);
    }
    if (!config.peers.some((peer) => peer.id === config.memberId)) {
      throw new ConfigError('BULWARK_PEERS', `must include this member (BULWARK_MEMBER_ID=${config.memberId})`);
    }
  },
  services: (kit, config, logger) => {
    coordinator = new Coordinator({
      memberId: config.memberId,
      peers: config.peers.map((peer) => ({ id: peer.id, address: formatHostPort(peer.address) })),
      dataDir: config.dataDir,
      logger,
      tickMs: config.tickMs,
      primaryLeaseMs: config.primaryLeaseMs,
      clockDriftMs: config.clockDriftMs,
    });
    return coordinator.services(kit);
  },
  started: () => coordinator?.start(),
  onStopped: [async () => coordinator?.stop(), flushTelemetry],
});

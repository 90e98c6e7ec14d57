import { ConfigError, peers, writableDirectory } from '@bulwark/config';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';
import { coordinatorService, paxosService } from './coordinator-service';

void runService({
  service: 'coordinator',
  defaultPort: 7001,
  settings: { peers: peers('BULWARK_PEERS', { min: 3, max: 5 }), dataDir: writableDirectory('BULWARK_DATA_DIR') },
  // Static membership: an odd number of peers (3 or 5), this member among them.
  validate: (config) => {
    if (config.peers.length % 2 === 0) {
      throw new ConfigError('BULWARK_PEERS', `must list 3 or 5 peers, got ${config.peers.length}`);
    }
    if (!config.peers.some((peer) => peer.id === config.memberId)) {
      throw new ConfigError('BULWARK_PEERS', `must include this member (BULWARK_MEMBER_ID=${config.memberId})`);
    }
  },
  services: (kit) => [coordinatorService(kit), paxosService(kit)],
  onStopped: [flushTelemetry],
});

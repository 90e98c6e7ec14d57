import { hostPortList, memberIdPattern, string, writableDirectory } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerOnStart } from '@bulwark/coordinator-client';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';
import { replicationService } from './replication-service';

void runService({
  service: 'replica',
  defaultPort: 7100,
  settings: {
    groupId: string('BULWARK_GROUP_ID', { pattern: memberIdPattern }),
    coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }),
    dataDir: writableDirectory('BULWARK_DATA_DIR'),
  },
  services: (kit) => [replicationService(kit)],
  started: registerOnStart(coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA),
  onStopped: [flushTelemetry],
});

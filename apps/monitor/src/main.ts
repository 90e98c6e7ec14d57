import { hostPortList, formatHostPort } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerInBackground } from '@bulwark/coordinator-client';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';
import { monitorService } from './monitor-service';

void runService({
  service: 'monitor',
  defaultPort: 7400,
  settings: { coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }) },
  services: (kit) => [monitorService(kit)],
  started: (config, logger) =>
    registerInBackground(
      config.coordinators.map(formatHostPort),
      {
        id: config.memberId,
        address: formatHostPort(config.advertiseAddress),
        role: coordinatorV1.MemberRole.MEMBER_ROLE_MONITOR,
        groupId: '',
      },
      logger,
    ),
  onStopped: [flushTelemetry],
});

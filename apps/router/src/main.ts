import { hostPortList, formatHostPort } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerInBackground } from '@bulwark/coordinator-client';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';
import { kvService } from './kv-service';

void runService({
  service: 'router',
  defaultPort: 7200,
  settings: { coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }) },
  services: (kit) => [kvService(kit)],
  started: (config, logger) =>
    registerInBackground(
      config.coordinators.map(formatHostPort),
      {
        id: config.memberId,
        address: formatHostPort(config.advertiseAddress),
        role: coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER,
        groupId: '',
      },
      logger,
    ),
  onStopped: [flushTelemetry],
});

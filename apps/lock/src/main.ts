import { hostPortList, formatHostPort } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerInBackground } from '@bulwark/coordinator-client';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';
import { lockService } from './lock-service';

void runService({
  service: 'lock',
  defaultPort: 7300,
  settings: { coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }) },
  services: (kit) => [lockService(kit)],
  started: (config, logger) =>
    registerInBackground(
      config.coordinators.map(formatHostPort),
      {
        id: config.memberId,
        address: formatHostPort(config.advertiseAddress),
        role: coordinatorV1.MemberRole.MEMBER_ROLE_LOCK,
        groupId: '',
      },
      logger,
    ),
  onStopped: [flushTelemetry],
});

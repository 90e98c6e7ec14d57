import { hostPortList } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerOnStart } from '@bulwark/coordinator-client';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';
import { lockService } from './lock-service';

void runService({
  service: 'lock',
  defaultPort: 7300,
  settings: { coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }) },
  services: (kit) => [lockService(kit)],
  started: registerOnStart(coordinatorV1.MemberRole.MEMBER_ROLE_LOCK),
  onStopped: [flushTelemetry],
});

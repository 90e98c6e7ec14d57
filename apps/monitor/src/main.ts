import { hostPortList } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerOnStart } from '@bulwark/coordinator-client';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';
import { monitorService } from './monitor-service';

void runService({
  service: 'monitor',
  defaultPort: 7400,
  settings: { coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }) },
  services: (kit) => [monitorService(kit)],
  started: registerOnStart(coordinatorV1.MemberRole.MEMBER_ROLE_MONITOR),
  onStopped: [flushTelemetry],
});

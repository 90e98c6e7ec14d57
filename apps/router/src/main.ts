import { hostPortList } from '@bulwark/config';
import { coordinatorV1 } from '@bulwark/contracts';
import { registerOnStart } from '@bulwark/coordinator-client';
import { runService } from '@bulwark/rpc';
import { flushTelemetry } from '@bulwark/telemetry';
import { kvService } from './kv-service';

void runService({
  service: 'router',
  defaultPort: 7200,
  settings: { coordinators: hostPortList('BULWARK_COORDINATORS', { min: 1, max: 7 }) },
  services: (kit) => [kvService(kit)],
  started: registerOnStart(coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER),
  onStopped: [flushTelemetry],
});

// monitor.v1.Monitor. Heartbeats, phi-accrual detection and availability
// figures come with the monitor issue; until then every method answers
// UNIMPLEMENTED through the shared wrapper and error table.
import { monitorV1 } from '@bulwark/contracts';
import { notImplemented, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';

export function monitorService(kit: HandlerKit): ServiceBinding {
  const implementation: monitorV1.MonitorServer = {
    getStatus: kit.unary(notImplemented('monitor.v1.Monitor/GetStatus')),
    watchStatus: kit.serverStream(async () => notImplemented('monitor.v1.Monitor/WatchStatus')()),
    getAvailability: kit.unary(notImplemented('monitor.v1.Monitor/GetAvailability')),
  };
  return { definition: monitorV1.MonitorService, implementation };
}

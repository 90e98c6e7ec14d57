// monitor.v1.Monitor. Heartbeats, phi-accrual detection and availability
// figures come with the monitor issue; until then every method answers
// UNIMPLEMENTED through the shared wrapper and error table.
import { monitorV1 } from '@bulwark/contracts';
import { UnimplementedError } from '@bulwark/errors';
import type { HandlerKit, ServiceBinding } from '@bulwark/rpc';

export function monitorService(kit: HandlerKit): ServiceBinding {
  const notYet = (method: string) => () => {
    throw new UnimplementedError(`monitor.v1.Monitor/${method}`);
  };
  const implementation: monitorV1.MonitorServer = {
    getStatus: kit.unary(notYet('GetStatus')),
    watchStatus: kit.serverStream(async () => notYet('WatchStatus')()),
    getAvailability: kit.unary(notYet('GetAvailability')),
  };
  return { definition: monitorV1.MonitorService, implementation };
}

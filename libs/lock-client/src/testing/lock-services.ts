// Real lock.v1 instances in this process for the client's tests: gRPC
// servers on free loopback ports, each its own LockNode (its own member id)
// over ONE memory backend, so they share every lock as instances over the
// same Redis servers do, and draining one plays an instance that was killed.
import type { Logger } from '@bulwark/logging';
import { LockNode, memoryBackend } from '@bulwark/lock-service';
import { startServer, type RunningServer } from '@bulwark/rpc';

export interface LockServices {
  /** host:port of each instance, in start order. */
  readonly endpoints: string[];
  readonly servers: RunningServer[];
  /** Drains every instance (again for the ones drained already: a no-op) and closes the backend. */
  stop(): Promise<void>;
}

export async function startLockServices(count: number, logger: Logger): Promise<LockServices> {
  const backend = memoryBackend();
  const servers: RunningServer[] = [];
  for (let index = 1; index <= count; index += 1) {
    const node = new LockNode({ memberId: `lock-${index}`, backend, logger });
    servers.push(
      await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 1_000 }, (kit) => node.services(kit)),
    );
  }
  return {
    endpoints: servers.map((server) => `127.0.0.1:${server.port}`),
    servers,
    async stop() {
      await Promise.all(servers.map((server) => server.drain('test done')));
      await backend.close();
    },
  };
}

// One lock-service process: its backend, the Locks over it and lock.v1.Lock.
import { randomBytes } from 'node:crypto';
import type { Logger } from '@bulwark/logging';
import type { HandlerKit, ServiceBinding } from '@bulwark/rpc';
import type { LockBackend } from './lock-backend';
import { readLockMetrics } from './lock-metrics';
import { lockService } from './lock-service';
import { Locks } from './locks';

export interface LockNodeOptions {
  readonly memberId: string;
  readonly backend: LockBackend;
  readonly logger: Logger;
  readonly waiterLeaseMs?: number;
}

export class LockNode {
  readonly locks: Locks;
  private readonly stopMetrics: () => void;

  constructor(private readonly options: LockNodeOptions) {
    this.locks = new Locks({
      quorum: options.backend.quorum,
      events: options.backend.events,
      logger: options.logger,
      // Waiter ids must differ across restarts of the same member: a restarted instance's old places may remain.
      instanceId: `${options.memberId}:${randomBytes(6).toString('hex')}`,
      ...(options.waiterLeaseMs === undefined ? {} : { waiterLeaseMs: options.waiterLeaseMs }),
    });
    this.stopMetrics = readLockMetrics(this.locks);
  }

  services(kit: HandlerKit): ServiceBinding[] {
    const { memberId, backend, logger } = this.options;
    return [lockService(kit, this.locks, { memberId, backend: backend.description, logger })];
  }

  /** After the server drained: queue departures still under way finish before the servers are let go. */
  async stop(): Promise<void> {
    this.stopMetrics();
    await this.locks.settle();
    await this.options.backend.close();
  }
}

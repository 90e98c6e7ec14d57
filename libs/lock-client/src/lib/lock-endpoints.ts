// One gRPC channel per lock-service instance, created on first use and
// reused by every call and Hold stream, and a round-robin cursor over them:
// any instance serves any lock (they share the backends), so spreading calls
// and moving a broken stream to the next instance are the same step.
import { lockV1 } from '@bulwark/contracts';
import { CancelledError } from '@bulwark/errors';
import { createClient } from '@bulwark/rpc';

/**
 * grpc-js backs off reconnects to a dead address up to 120 s by default; an
 * instance that comes back should be usable within a second.
 */
export const lockChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
} as const;

export interface LockEndpoint {
  readonly address: string;
  readonly client: lockV1.LockClient;
}

export class LockEndpoints {
  readonly addresses: readonly string[];
  private readonly clients = new Map<string, lockV1.LockClient>();
  private cursor = 0;
  private closed = false;

  constructor(addresses: readonly string[]) {
    if (addresses.length === 0) throw new RangeError('at least one lock-service endpoint is needed');
    this.addresses = Object.freeze([...new Set(addresses)]);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The next instance in round-robin order; the first call of a new client gets addresses[0]. */
  next(): LockEndpoint {
    const address = this.addresses[this.cursor % this.addresses.length] as string;
    this.cursor = (this.cursor + 1) % this.addresses.length;
    return { address, client: this.get(address) };
  }

  private get(address: string): lockV1.LockClient {
    if (this.closed) throw new CancelledError('the lock client is closed');
    let client = this.clients.get(address);
    if (!client) {
      client = createClient(lockV1.LockClient, address, lockChannelOptions);
      this.clients.set(address, client);
    }
    return client;
  }

  /** Closes every channel; calls in flight end at their deadlines. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

// One gRPC channel per lock-service instance, created on first use and
// reused by every call and Hold stream, and a round-robin cursor over them:
// any instance serves any lock (they share the backends), so spreading calls
// and moving a broken stream to the next instance are the same step.
import { lockV1 } from '@bulwark/contracts';
import { CancelledError } from '@bulwark/errors';
import { ChannelPool, createClient, fastReconnectChannelOptions } from '@bulwark/rpc';

export interface LockEndpoint {
  readonly address: string;
  readonly client: lockV1.LockClient;
}

export class LockEndpoints {
  readonly addresses: readonly string[];
  private readonly channels = new ChannelPool(
    (address) => createClient(lockV1.LockClient, address, fastReconnectChannelOptions),
    () => new CancelledError('the lock client is closed'),
  );
  private cursor = 0;

  constructor(addresses: readonly string[]) {
    if (addresses.length === 0) throw new RangeError('at least one lock-service endpoint is needed');
    this.addresses = Object.freeze([...new Set(addresses)]);
  }

  get isClosed(): boolean {
    return this.channels.isClosed;
  }

  /** The next instance in round-robin order; the first call of a new client gets addresses[0]. */
  next(): LockEndpoint {
    const address = this.addresses[this.cursor % this.addresses.length] as string;
    this.cursor = (this.cursor + 1) % this.addresses.length;
    return { address, client: this.channels.get(address) };
  }

  /** Closes every channel; calls in flight end at their deadlines. */
  close(): void {
    this.channels.close();
  }
}

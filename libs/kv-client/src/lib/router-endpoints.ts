// One gRPC channel per router, created on first use and reused, and the
// router calls go to. Any router serves any key, so calls stay on one (its
// channel stays warm) and move to the next only when it cannot be reached:
// failing over is moving the cursor.
import { kvV1 } from '@bulwark/contracts';
import { CancelledError } from '@bulwark/errors';
import { ChannelPool, createClient, fastReconnectChannelOptions } from '@bulwark/rpc';

export class RouterEndpoints {
  readonly addresses: readonly string[];
  private readonly channels = new ChannelPool(
    (address) => createClient(kvV1.KVClient, address, fastReconnectChannelOptions),
    () => new CancelledError('the KV client is closed'),
  );
  private cursor = 0;

  constructor(addresses: readonly string[]) {
    if (addresses.length === 0) throw new RangeError('at least one router endpoint is needed');
    this.addresses = Object.freeze([...new Set(addresses)]);
  }

  get isClosed(): boolean {
    return this.channels.isClosed;
  }

  /** Every router once, the one calls go to now first (a new client's is addresses[0]). */
  inTurn(): string[] {
    return this.addresses.map((_, offset) => this.addresses[(this.cursor + offset) % this.addresses.length] as string);
  }

  /** The client for a router, its channel created on first use; throws CancelledError once closed. */
  client(address: string): kvV1.KVClient {
    return this.channels.get(address);
  }

  /** Moves calls past address, which could not be reached, unless a concurrent call has moved them already. */
  unreachable(address: string): void {
    if (this.addresses[this.cursor] === address) this.cursor = (this.cursor + 1) % this.addresses.length;
  }

  /** Closes every channel. */
  close(): void {
    this.channels.close();
  }
}

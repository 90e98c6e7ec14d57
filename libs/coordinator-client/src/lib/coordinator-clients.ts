// One gRPC client (channel) per coordinator address, created on first use
// and reused by every call and watch. The configured addresses are kept for
// the pool's life; addresses learned from leader hints are bounded, the
// least recently used closed first, so a stream of odd hints cannot grow
// the pool without limit.
import { coordinatorV1 } from '@bulwark/contracts';
import { ChannelPool, createClient, fastReconnectChannelOptions } from '@bulwark/rpc';

/** Clients kept for addresses that are not configured (leader hints), beyond the configured ones. */
export const hintedClientsMax = 8;

export class CoordinatorClients {
  readonly addresses: readonly string[];
  private readonly configured: ReadonlySet<string>;
  private readonly channels = new ChannelPool(
    (address) => createClient(coordinatorV1.CoordinatorClient, address, fastReconnectChannelOptions),
    () => new Error('coordinator clients are closed'),
  );

  /** @param addresses host:port of every coordinator, at least one. */
  constructor(addresses: readonly string[]) {
    if (addresses.length === 0) throw new RangeError('at least one coordinator address is needed');
    this.addresses = Object.freeze([...new Set(addresses)]);
    this.configured = new Set(this.addresses);
  }

  get isClosed(): boolean {
    return this.channels.isClosed;
  }

  /** The client for an address, created on first use; throws once closed. */
  get(address: string): coordinatorV1.CoordinatorClient {
    const client = this.channels.get(address);
    if (!this.configured.has(address)) this.evictHinted();
    return client;
  }

  /** Closes every channel; calls in flight end with their deadline or are cancelled by their owner. */
  close(): void {
    this.channels.close();
  }

  /** Closes the least recently used hinted clients beyond hintedClientsMax. */
  private evictHinted(): void {
    const hinted = this.channels.addresses().filter((address) => !this.configured.has(address));
    for (const address of hinted.slice(0, Math.max(0, hinted.length - hintedClientsMax))) this.channels.drop(address);
  }
}

// One gRPC client (channel) per coordinator address, created on first use
// and reused by every call and watch. The configured addresses are kept for
// the pool's life; addresses learned from leader hints are bounded, the
// least recently used closed first, so a stream of odd hints cannot grow
// the pool without limit.
import { coordinatorV1 } from '@bulwark/contracts';
import { createClient } from '@bulwark/rpc';

/** Clients kept for addresses that are not configured (leader hints), beyond the configured ones. */
export const hintedClientsMax = 8;

/**
 * Channel options for coordinator channels: grpc-js backs off reconnects to
 * a dead address up to 120 s by default, which would keep a coordinator
 * that came back unused for that long; ours retries within a second.
 */
export const coordinatorChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
} as const;

export class CoordinatorClients {
  readonly addresses: readonly string[];
  private readonly configured: ReadonlySet<string>;
  /** Insertion order is recency of use for hinted addresses (re-inserted on use). */
  private readonly clients = new Map<string, coordinatorV1.CoordinatorClient>();
  private closed = false;

  /** @param addresses host:port of every coordinator, at least one. */
  constructor(addresses: readonly string[]) {
    if (addresses.length === 0) throw new RangeError('at least one coordinator address is needed');
    this.addresses = Object.freeze([...new Set(addresses)]);
    this.configured = new Set(this.addresses);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The client for an address, created on first use; throws once closed. */
  get(address: string): coordinatorV1.CoordinatorClient {
    if (this.closed) throw new Error('coordinator clients are closed');
    let client = this.clients.get(address);
    if (client) {
      if (!this.configured.has(address)) {
        this.clients.delete(address);
        this.clients.set(address, client);
      }
      return client;
    }
    client = createClient(coordinatorV1.CoordinatorClient, address, coordinatorChannelOptions);
    this.clients.set(address, client);
    if (!this.configured.has(address)) this.evictHinted();
    return client;
  }

  /** Closes every channel; calls in flight end with their deadline or are cancelled by their owner. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private evictHinted(): void {
    const hinted = [...this.clients.keys()].filter((address) => !this.configured.has(address));
    for (const address of hinted.slice(0, Math.max(0, hinted.length - hintedClientsMax))) {
      this.clients.get(address)?.close();
      this.clients.delete(address);
    }
  }
}

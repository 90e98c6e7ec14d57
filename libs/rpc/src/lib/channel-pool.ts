// gRPC clients (each its own channel) per address, created on first use and
// reused by every call and stream to that address, for a caller that talks
// to a set of peers: the coordinator clients and the lock client.
import type { ChannelOptions } from '@grpc/grpc-js';

/**
 * grpc-js backs off reconnects to a dead address up to 120 s by default,
 * which would leave a peer that came back unused for that long; these retry
 * within a second.
 */
export const fastReconnectChannelOptions: ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
};

export class ChannelPool<Client extends { close(): void }> {
  /** Insertion order is recency of use: get() moves an address last. */
  private readonly clients = new Map<string, Client>();
  private closed = false;

  /**
   * @param create makes the client for an address.
   * @param closedError what get() throws once the pool is closed.
   * @param clientsMax clients kept at most: get() closes the least recently used beyond it.
   */
  constructor(
    private readonly create: (address: string) => Client,
    private readonly closedError: () => Error,
    private readonly clientsMax = Number.POSITIVE_INFINITY,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** The client for address, created on first use. */
  get(address: string): Client {
    if (this.closed) throw this.closedError();
    let client = this.clients.get(address);
    if (client) this.clients.delete(address);
    else client = this.create(address);
    this.clients.set(address, client);
    if (this.clients.size > this.clientsMax) this.drop(this.clients.keys().next().value as string);
    return client;
  }

  /** The addresses that have a client, least recently used first. */
  addresses(): string[] {
    return [...this.clients.keys()];
  }

  /** Closes address's client, if it has one; the next get() makes a new one. */
  drop(address: string): void {
    this.clients.get(address)?.close();
    this.clients.delete(address);
  }

  /** Closes every client; calls in flight end at their deadlines. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

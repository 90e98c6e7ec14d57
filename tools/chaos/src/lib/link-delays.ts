// Delays on the fleet's own links, toxiproxy style, since this kernel has no
// tc netem: before the fleet starts, every new TCP connection from a fleet
// address to a fleet service's port is redirected (iptables DNAT in nat
// OUTPUT, a chain of this process's own) to a proxy of this process for that
// destination, which connects on from the caller's own address (so the
// partition and loss rules, which match addresses, still cut the link) and
// relays both ways. A delay fault makes the proxy hold each chunk of a
// link that touches the target for 75 +- 50 ms, in order; healed, chunks
// pass at once. The proxy's own connections leave from ports 61000-61999,
// outside the kernel's ephemeral range, which the redirect skips. close()
// removes the chain and its jump, also after an interrupted run (the next
// run removes a chain whose process is gone).
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { closeChain, iptables, openChain, removeStaleChainsOf, type ChainKind } from './iptables-chains';

const redirectChains: ChainKind = { table: 'nat', hook: 'OUTPUT', prefix: 'BWDELAY-' };
const proxyPorts = { first: 61_000, last: 61_999 };
/** How long a delayed chunk is held: 75 +- 50 ms. */
export const linkDelayMs = { low: 25, high: 125 } as const;
/** Bytes a link direction may hold before its sender is paused. */
const heldBytesMax = 4 * 1024 * 1024;

/** Redirect chains whose process is gone: removed, with their jumps (left, they would cut every later fleet's links). */
export function removeStaleDelayChains(): string[] {
  return removeStaleChainsOf(redirectChains);
}

/** A service port the fleet's members call one another on. */
export interface LinkDestination {
  readonly address: string;
  readonly port: number;
}

/**
 * Writes what `from` sends to `to`, each chunk after the delay the link had
 * when it arrived, in order: one queue per direction and one timer for its
 * head (timers of equal expiry have no order). `from` is paused while the
 * queue holds too much or `to` pushes back, and its end is passed on after
 * the last chunk (both sockets allow half-open connections).
 */
function relay(from: net.Socket, to: net.Socket, delayMs: () => number): void {
  const queue: Array<{ readonly dueMs: number; readonly chunk: Buffer | null }> = [];
  let heldBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let blocked = false;
  const flowControl = () => {
    const tooMuch = heldBytes > heldBytesMax || blocked;
    if (tooMuch && !from.isPaused()) from.pause();
    else if (!tooMuch && from.isPaused()) from.resume();
  };
  const drain = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && (queue[0] as { dueMs: number }).dueMs <= now) {
      const { chunk } = queue.shift() as { dueMs: number; chunk: Buffer | null };
      if (to.destroyed) return;
      if (chunk === null) {
        to.end();
        continue;
      }
      heldBytes -= chunk.length;
      if (!to.write(chunk)) blocked = true;
    }
    flowControl();
    const head = queue[0];
    if (head) timer = setTimeout(drain, Math.max(0, head.dueMs - performance.now()));
  };
  const enqueue = (chunk: Buffer | null) => {
    // A later chunk never overtakes an earlier one: its due time is at least the last one's.
    const last = queue.at(-1);
    queue.push({ dueMs: Math.max(last?.dueMs ?? 0, performance.now() + delayMs()), chunk });
    if (chunk) heldBytes += chunk.length;
    if (timer === undefined) drain();
    else flowControl();
  };
  to.on('drain', () => {
    blocked = false;
    flowControl();
  });
  from.on('data', (chunk: Buffer) => enqueue(chunk));
  from.on('end', () => enqueue(null));
  from.on('error', () => to.destroy());
  from.on('close', () => {
    if (timer !== undefined) clearTimeout(timer);
    if (!from.readableEnded) to.destroy();
  });
}

export class LinkDelays {
  /** Addresses whose every link is delayed now. */
  private readonly delayed = new Set<string>();
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private nextPort = proxyPorts.first;
  private closed = false;
  /** Connections relayed so far: a run that redirected nothing would show 0. */
  connectionsRelayed = 0;

  private constructor(
    readonly chain: string,
    private readonly random: () => number,
  ) {}

  /**
   * Proxies every destination on proxyHost, and redirects to them the new
   * connections from `sources` (a CIDR such as 127.77.96.0/24) to each one.
   */
  static async open(options: {
    readonly proxyHost: string;
    readonly sources: string;
    readonly destinations: readonly LinkDestination[];
    readonly random: () => number;
  }): Promise<LinkDelays> {
    const chain = openChain(redirectChains);
    const delays = new LinkDelays(chain, options.random);
    try {
      for (const destination of options.destinations) {
        const port = await delays.listen(options.proxyHost, destination);
        iptables(redirectChains, [
          '-A',
          chain,
          ...['-p', 'tcp', '-s', options.sources, '-d', `${destination.address}/32`],
          ...['-m', 'tcp', '--dport', String(destination.port)],
          ...['!', '--sport', `${proxyPorts.first}:${proxyPorts.last}`],
          ...['-j', 'DNAT', '--to-destination', `${options.proxyHost}:${port}`],
        ]);
      }
    } catch (error) {
      await delays.close();
      throw error;
    }
    return delays;
  }

  /** Delays every link to or from `address` until heal(address). */
  delay(address: string): void {
    this.delayed.add(address);
  }

  heal(address: string): void {
    this.delayed.delete(address);
  }

  /** Removes the redirects, then ends every proxied connection and listener; safe to call more than once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      closeChain(redirectChains, this.chain);
    } finally {
      for (const socket of this.sockets) socket.destroy();
      await Promise.all(this.servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  }

  private linkDelayMs(a: string, b: string): number {
    if (!this.delayed.has(a) && !this.delayed.has(b)) return 0;
    return linkDelayMs.low + this.random() * (linkDelayMs.high - linkDelayMs.low);
  }

  private async listen(host: string, destination: LinkDestination): Promise<number> {
    const server = net.createServer({ allowHalfOpen: true }, (caller) => this.proxy(caller, destination));
    this.servers.push(server);
    server.listen(0, host);
    await once(server, 'listening');
    return (server.address() as net.AddressInfo).port;
  }

  /** Connects on from the caller's address (from a port of the proxy range), then relays both ways. */
  private proxy(caller: net.Socket, destination: LinkDestination): void {
    const source = caller.remoteAddress ?? '';
    this.track(caller);
    caller.pause();
    let callee: net.Socket | undefined;
    let relaying = false;
    caller.on('error', () => callee?.destroy());
    caller.once('close', () => {
      if (!relaying) callee?.destroy();
    });
    const connect = (attemptsLeft: number) => {
      const localPort = this.nextPort;
      this.nextPort = localPort === proxyPorts.last ? proxyPorts.first : localPort + 1;
      const socket = net.connect({
        host: destination.address,
        port: destination.port,
        localAddress: source,
        localPort,
      });
      callee = this.track(socket);
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (relaying) return;
        // A port of the range still held by an earlier connection (bind or connect refused it): the next one.
        const portTaken = error.code === 'EADDRINUSE' || error.code === 'EADDRNOTAVAIL';
        if (portTaken && attemptsLeft > 0 && !this.closed && !caller.destroyed) {
          connect(attemptsLeft - 1);
        } else caller.destroy();
      });
      socket.once('connect', () => {
        relaying = true;
        this.connectionsRelayed += 1;
        relay(caller, socket, () => this.linkDelayMs(source, destination.address));
        relay(socket, caller, () => this.linkDelayMs(destination.address, source));
        caller.resume();
      });
    };
    connect(16);
  }

  private track(socket: net.Socket): net.Socket {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    return socket;
  }
}

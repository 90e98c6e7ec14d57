// The delay nemesis's proxy on real sockets and iptables: connections from
// the fleet's addresses to a proxied port go through it, keep their source
// address, arrive whole and in order, are held at least the delay's lower
// bound each way while delayed; connections from elsewhere are left alone,
// and close() leaves no rule behind.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { seededUniform } from '@bulwark/random';
import { LinkDelays, linkDelayMs } from './link-delays';

const subnet = '127.77.95';
const serverHost = `${subnet}.2`;
const callerHost = `${subnet}.3`;

/** An echo server that records where each connection came from. */
async function echoServer(): Promise<{ port: number; remotes: string[]; close(): Promise<void> }> {
  const remotes: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    remotes.push(socket.remoteAddress ?? '');
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  server.listen(0, serverHost);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    remotes,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends `message` and resolves with the echo and how long the round trip took. */
async function roundTrip(socket: net.Socket, message: string): Promise<{ echo: string; ms: number }> {
  const started = performance.now();
  let echo = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      echo += String(chunk);
      if (echo.length < message.length) return;
      socket.off('data', onData).off('error', reject);
      resolve();
    };
    socket.on('data', onData).once('error', reject);
    socket.write(message);
  });
  return { echo, ms: performance.now() - started };
}

async function connectFrom(localAddress: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host: serverHost, port, localAddress });
  await once(socket, 'connect');
  return socket;
}

const natRules = () => execFileSync('iptables', ['-w', '5', '-t', 'nat', '-S'], { encoding: 'utf8' });

describe('LinkDelays', () => {
  let server: Awaited<ReturnType<typeof echoServer>>;
  let delays: LinkDelays;
  beforeAll(async () => {
    server = await echoServer();
    delays = await LinkDelays.open({
      proxyHost: `${subnet}.250`,
      sources: `${subnet}.0/24`,
      destinations: [{ address: serverHost, port: server.port }],
      random: seededUniform(1),
    });
  });
  afterAll(async () => {
    await delays.close();
    await server.close();
  });

  it('relays a fleet connection through the proxy from its own address, whole and in order, and delays it while asked', async () => {
    const socket = await connectFrom(callerHost, server.port);
    try {
      const message = Array.from({ length: 20_000 }, (_, index) => `${index};`).join('');
      expect((await roundTrip(socket, message)).echo).toBe(message);
      delays.delay(serverHost);
      const delayed = await roundTrip(socket, message);
      expect(delayed.echo).toBe(message);
      // Held at least the lower bound on the way there and on the way back.
      expect(delayed.ms).toBeGreaterThanOrEqual(2 * linkDelayMs.low);
      delays.heal(serverHost);
      expect((await roundTrip(socket, 'after')).echo).toBe('after');
    } finally {
      socket.destroy();
    }
    // The server saw the caller's own address, not the proxy's: address rules still match the link.
    expect(server.remotes).toEqual([callerHost]);
    expect(delays.connectionsRelayed).toBe(1);
  });

  it('leaves a connection from outside the fleet alone', async () => {
    const socket = await connectFrom('127.0.0.1', server.port);
    try {
      delays.delay(serverHost);
      expect((await roundTrip(socket, 'direct')).echo).toBe('direct');
    } finally {
      delays.heal(serverHost);
      socket.destroy();
    }
    expect(server.remotes.at(-1)).toBe('127.0.0.1');
    expect(delays.connectionsRelayed).toBe(1);
    expect(natRules()).toContain(delays.chain);
  });

  it('removes its redirects on close', async () => {
    const chain = delays.chain;
    await delays.close();
    expect(natRules()).not.toContain(chain);
    // Closed, a fleet connection goes straight to the server again.
    const socket = await connectFrom(callerHost, server.port);
    try {
      expect((await roundTrip(socket, 'straight')).echo).toBe('straight');
    } finally {
      socket.destroy();
    }
  });
});

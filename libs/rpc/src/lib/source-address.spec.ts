// A service on its own loopback address connects from it: what a peer sees
// as the remote address, through plain net and through grpc-js, and only
// for loopback targets that name no local address themselves.
import net from 'node:net';
import { once } from 'node:events';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { healthV1 } from '@bulwark/contracts';
import { callUnary, createClient } from './client';
import { connectFromListenAddress, isOwnLoopbackAddress } from './source-address';

const own = '127.0.0.2';
const peerHost = '127.0.0.3';

/** A TCP server on peerHost that records where each connection came from. */
async function recordingServer(): Promise<{ port: number; remotes: string[]; close(): Promise<void> }> {
  const remotes: string[] = [];
  const server = net.createServer((socket) => {
    remotes.push(socket.remoteAddress ?? '');
    socket.end();
  });
  server.listen(0, peerHost);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    remotes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function connected(socket: net.Socket): Promise<void> {
  await once(socket, 'connect');
  socket.destroy();
}

describe('isOwnLoopbackAddress', () => {
  it.each([
    ['127.77.93.8', true],
    ['127.0.0.2', true],
    ['127.0.0.1', false],
    ['0.0.0.0', false],
    ['localhost', false],
    ['::1', false],
    ['10.0.0.1', false],
    ['127.256.0.1', false],
  ])('%s: %s', (host, expected) => {
    expect(isOwnLoopbackAddress(host)).toBe(expected);
  });
});

describe('connectFromListenAddress', () => {
  let server: Awaited<ReturnType<typeof recordingServer>>;
  beforeEach(async () => (server = await recordingServer()));
  afterEach(() => server.close());

  /** Waits until the server has recorded `count` connections. */
  async function remotes(count: number): Promise<string[]> {
    while (server.remotes.length < count) await new Promise((resolve) => setImmediate(resolve));
    return server.remotes;
  }

  it('makes connections to loopback addresses leave from the own address, in both call forms, until undone', async () => {
    const undo = connectFromListenAddress(own);
    try {
      await connected(net.connect({ host: peerHost, port: server.port }));
      await connected(net.createConnection(server.port, peerHost));
    } finally {
      undo();
    }
    await connected(net.connect({ host: peerHost, port: server.port }));
    expect(await remotes(3)).toEqual([own, own, '127.0.0.1']);
  });

  it('leaves alone a connection that names its local address, and every connection when the host is not its own', async () => {
    const undo = connectFromListenAddress(own);
    try {
      await connected(net.connect({ host: peerHost, port: server.port, localAddress: '127.0.0.4' }));
    } finally {
      undo();
    }
    const noop = connectFromListenAddress('0.0.0.0');
    try {
      await connected(net.connect({ host: peerHost, port: server.port }));
    } finally {
      noop();
    }
    expect(await remotes(2)).toEqual(['127.0.0.4', '127.0.0.1']);
  });

  it("applies to grpc-js's connections", async () => {
    const peers: string[] = [];
    const grpcServer = new Server();
    grpcServer.addService(healthV1.HealthService, {
      check: (call: { getPeer(): string }, callback: (error: null, response: healthV1.HealthCheckResponse) => void) => {
        peers.push(call.getPeer());
        callback(null, { status: healthV1.HealthCheckResponse_ServingStatus.SERVING });
      },
      watch: () => undefined,
    });
    const port = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync(`${peerHost}:0`, ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const undo = connectFromListenAddress(own);
    const client = createClient(healthV1.HealthClient, `${peerHost}:${port}`);
    try {
      await callUnary(client, client.check, { service: '' }, { deadlineMs: 5_000 });
    } finally {
      undo();
      client.close();
      grpcServer.forceShutdown();
    }
    expect(peers).toEqual([expect.stringMatching(/^127\.0\.0\.2:\d+$/)]);
  });
});

// A published port: the launcher listens on the host port and pipes each
// connection to the service's address and container port, as Docker's
// port mapping does for a container.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { PortForward } from '../plan/plan-model';

/** Connections one published port carries at once; more are refused, like a full accept queue. */
export const forwardedConnectionsMax = 256;

export class PortInUseError extends Error {
  constructor(
    readonly service: string,
    readonly hostIp: string,
    readonly hostPort: number,
  ) {
    super(`${service}: cannot publish ${hostIp}:${hostPort}: the port is already in use`);
    this.name = 'PortInUseError';
  }
}

export interface Forwarder {
  readonly hostIp: string;
  /** The bound port: the planned one, or the one the system chose for a lone container port. */
  readonly hostPort: number;
  readonly containerPort: number;
  close(): Promise<void>;
}

function pipeBothWays(client: Socket, upstream: Socket, open: Set<Socket>): void {
  for (const socket of [client, upstream]) {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // A refused or reset side ends the other at once; a clean end travels through the pipes.
    socket.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

export function openForwarder(service: string, forward: PortForward, targetHost: string): Promise<Forwarder> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    pipeBothWays(client, connect({ host: targetHost, port: forward.containerPort }), open);
  });
  server.maxConnections = forwardedConnectionsMax;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new PortInUseError(service, forward.hostIp, forward.hostPort)
          : new Error(`${service}: cannot publish ${forward.hostIp}:${forward.hostPort}: ${error.message}`),
      );
    });
    server.listen({ host: forward.hostIp, port: forward.hostPort }, () => {
      resolve({
        hostIp: forward.hostIp,
        hostPort: (server.address() as AddressInfo).port,
        containerPort: forward.containerPort,
        close: () =>
          new Promise<void>((closed) => {
            server.close(() => closed());
            for (const socket of open) socket.destroy();
          }),
      });
    });
  });
}

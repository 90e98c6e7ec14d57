// The small plain-HTTP servers a service runs beside gRPC (metrics, failpoint
// control) listen and close the same way: on the configured host:port,
// rejecting when they cannot, and closing once, with keep-alive connections
// cut so close() does not wait for a client to hang up.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatHostPort, type HostPort } from './config';

export interface ListeningHttpServer {
  /** host:port as configured, with the port bound (port 0 picks one). */
  readonly address: string;
  readonly port: number;
  /** Stops listening and cuts open connections; the same promise every call. */
  close(): Promise<void>;
}

/** Listens on host:port; rejects when it cannot (a port in use, an unknown host). onError: a connection's error after that. */
export async function listenHttp(
  server: Server,
  { host, port }: HostPort,
  onError: (error: Error) => void,
): Promise<ListeningHttpServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // node:http takes an IPv6 host without its brackets.
    server.listen(port, host.replace(/^\[(.*)\]$/, '$1'), () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, an error is a connection's (handled by node:http), never the process's.
  server.on('error', onError);
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    address: formatHostPort({ host, port: bound }),
    port: bound,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

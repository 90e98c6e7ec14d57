// The process's Prometheus endpoint: GET /metrics answers the registry in
// the text exposition format. It is a separate plain-HTTP listener (as
// etcd's --listen-metrics-urls), so scrapes never queue behind gRPC calls
// and a scraper needs no gRPC. Anything else gets a status, never a crash:
// 404 for another path, 405 for another method, 400 (Node's own) for bytes
// that are not HTTP, 500 if collecting fails.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenHttp, type ListeningHttpServer } from '@bulwark/config';
import type { Logger } from '@bulwark/logging';
import type { Registry } from 'prom-client';
import { registry as processRegistry } from './registry';

export const metricsPath = '/metrics';
/** Connections open at once; more are closed as they arrive. A scraper needs one. */
export const metricsConnectionsMax = 32;
/** A request must arrive whole this soon: a stalled client cannot hold a connection. */
const requestTimeoutMs = 10_000;

export interface MetricsServerOptions {
  /** Host to listen on, as in host:port ("[::]" for IPv6). */
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  /** The process registry unless a test passes its own. */
  registry?: Registry;
}

/** The metrics endpoint as it listens: its bound address and port, and close(). */
export type MetricsServer = ListeningHttpServer;

async function answer(request: IncomingMessage, response: ServerResponse, registry: Registry, logger: Logger) {
  // A body is never read: let it drain so the connection can be reused.
  request.resume();
  const path = (request.url ?? '').split('?', 1)[0];
  if (path !== metricsPath) {
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`only ${metricsPath} is served\n`);
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('use GET\n');
    return;
  }
  try {
    const text = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType });
    response.end(request.method === 'HEAD' ? undefined : text);
  } catch (error) {
    logger.error({ err: error }, 'cannot collect metrics');
    if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('cannot collect metrics\n');
  }
}

/** Listens on host:port; rejects when it cannot (a port in use, an unknown host). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { logger } = options;
  const registry = options.registry ?? processRegistry;
  const server = createServer({ requestTimeout: requestTimeoutMs }, (request, response) => {
    void answer(request, response, registry, logger);
  });
  server.maxConnections = metricsConnectionsMax;
  const listening = await listenHttp(server, options, (error) => logger.warn({ err: error }, 'metrics server error'));
  logger.info({ address: listening.address, path: metricsPath }, 'serving metrics');
  return listening;
}

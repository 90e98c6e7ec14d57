// The monitor's dashboard over plain HTTP: the page and its assets, the
// current snapshot as JSON, and a server-sent event stream of snapshots. A
// fixed table of routes, so no request path reaches the file system; every
// answer carries security headers, and a bad request gets a 4xx, never a
// crash.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@bulwark/logging';
import type { DashboardSource } from './dashboard-snapshot';
import { readPageFiles } from './page-files';
import { defaultSnapshotStreamLimits, SnapshotStreams, type SnapshotStreamLimits } from './snapshot-streams';

export interface DashboardServerOptions {
  /** The address to listen on, e.g. 0.0.0.0 in a container. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  source: DashboardSource;
  logger: Logger;
  /** Bounds of api/events; the defaults suit a monitor (64 viewers, 2 pushes/s, a heartbeat every 15 s). */
  streamLimits?: Partial<SnapshotStreamLimits>;
}

export interface DashboardServer {
  /** The bound address and port. */
  host: string;
  port: number;
  /** The page's URL, e.g. http://127.0.0.1:8080/. */
  url: string;
  /** Event streams open now. */
  readonly openStreams: number;
  /** Ends the event streams, stops listening and resolves once every connection is closed. */
  close(): Promise<void>;
}

const securityHeaders: Record<string, string> = {
  // The page loads nothing from anywhere but this server; it is never framed.
  'Content-Security-Policy':
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...securityHeaders,
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(`${text}\n`);
}

function sendBody(res: ServerResponse, body: Buffer | string, contentType: string, cacheControl: string): void {
  res.writeHead(200, {
    ...securityHeaders,
    'Content-Type': contentType,
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': cacheControl,
  });
  res.end(body);
}

/** The request's path, or undefined when its target is not a URL path. */
function requestPath(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '', 'http://dashboard.invalid').pathname;
  } catch {
    return undefined;
  }
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { source, logger } = options;
  const pageFiles = readPageFiles();
  const streams = new SnapshotStreams(source, { ...defaultSnapshotStreamLimits, ...options.streamLimits }, logger);

  function route(req: IncomingMessage, res: ServerResponse): void {
    const path = requestPath(req);
    if (path === undefined) return sendText(res, 400, 'bad request target');
    const getOrHead = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/api/events') {
      if (req.method !== 'GET') return sendText(res, 405, 'method not allowed', { Allow: 'GET' });
      if (!streams.open(req, res, securityHeaders)) {
        sendText(res, 503, 'no room for another viewer (or shutting down), try again later', { 'Retry-After': '10' });
      }
      return;
    }
    if (path === '/api/snapshot') {
      if (!getOrHead) return sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
      return sendBody(res, JSON.stringify(source.snapshot()), 'application/json; charset=utf-8', 'no-store');
    }
    const file = pageFiles.get(path);
    if (!file) return sendText(res, 404, 'not found');
    if (!getOrHead) return sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    // Revalidated on every load, so a new monitor version's page is picked up at once.
    sendBody(res, file.body, file.contentType, 'no-cache');
  }

  const server: Server = createServer((req, res) => {
    try {
      route(req, res);
    } catch (error) {
      logger.error({ err: error, url: req.url }, 'dashboard request failed');
      if (res.headersSent) res.destroy();
      else sendText(res, 500, 'internal error');
    }
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await streams.close();
    throw error;
  }
  server.on('error', (error) => logger.error({ err: error }, 'dashboard server error'));

  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('dashboard server has no TCP address');
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info({ host: address.address, port: address.port }, 'dashboard listening');
  let closing: Promise<void> | undefined;

  return {
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}/`,
    get openStreams() {
      return streams.openStreams;
    },
    close() {
      closing ??= streams.close().then(
        // With no response left open, close() also closes the idle keep-alive connections.
        () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
      );
      return closing;
    },
  };
}

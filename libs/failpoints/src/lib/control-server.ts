// The failpoints' control endpoint, as gofail's GOFAIL_HTTP: plain HTTP on
// the one address BULWARK_FAILPOINTS_ADDR gives, and only when it is set,
// since anyone who reaches it can crash the process.
//
//   GET    /failpoints        this service's failpoints and what each is set to do (JSON)
//   GET    /failpoints/NAME   one of them
//   PUT    /failpoints/NAME   sets it to the term in the body, e.g. "2*crash"
//   DELETE /failpoints/NAME   turns it off
//
// A bad term is 400 with the reason, a name that is not this service's
// failpoint 404, a body above termBytesMax 413.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenHttp } from '@bulwark/config';
import { InvalidArgumentError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { failpointsOf, type FailpointName } from './catalog';
import { failpoints as processFailpoints, type FailpointRegistry } from './registry';
import { parseFailpointSetting } from './spec';

export const failpointsPath = '/failpoints';
/** Longest term a PUT may carry. */
export const termBytesMax = 256;
/** Connections open at once; more are closed as they arrive. A chaos run needs one or two. */
const connectionsMax = 8;
/** A request must arrive whole this soon: a stalled client cannot hold a connection. */
const requestTimeoutMs = 10_000;

export interface FailpointControlOptions {
  /** Host to listen on, as in host:port ("[::1]" for IPv6). */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The service whose failpoints it controls (only those are listed and may be set). */
  service: string;
  logger: Logger;
  /** The process's failpoints unless a test passes its own. */
  registry?: FailpointRegistry;
}

export interface FailpointControl {
  /** host:port actually bound. */
  readonly address: string;
  /** Stops listening and ends open connections; idempotent. */
  close(): Promise<void>;
}

function reply(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = typeof body !== 'string';
  response.writeHead(status, {
    'content-type': json ? 'application/json' : 'text/plain; charset=utf-8',
    ...headers,
  });
  response.end(json ? `${JSON.stringify(body)}\n` : `${body}\n`);
}

/** The body as text, or undefined when it passes `bytesMax` (the rest is read and dropped). */
function readBody(request: IncomingMessage, bytesMax: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= bytesMax) chunks.push(chunk);
    });
    request.on('end', () => resolve(bytes > bytesMax ? undefined : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function decodedOrUndefined(component: string): string | undefined {
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined; // a malformed %-escape names no failpoint
  }
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  options: FailpointControlOptions,
  registry: FailpointRegistry,
): Promise<void> {
  const path = (request.url ?? '').split('?', 1)[0] ?? '';
  const names = failpointsOf(options.service);
  if (path === failpointsPath) {
    request.resume();
    if (request.method !== 'GET') return reply(response, 405, 'use GET', { allow: 'GET' });
    return reply(response, 200, { service: options.service, failpoints: registry.list(names) });
  }
  if (!path.startsWith(`${failpointsPath}/`)) {
    request.resume();
    return reply(response, 404, `only ${failpointsPath} and ${failpointsPath}/NAME are served`);
  }
  const requested = decodedOrUndefined(path.slice(failpointsPath.length + 1));
  const name = names.find((known) => known === requested);
  if (!name) {
    request.resume();
    return reply(response, 404, `not a failpoint of the ${options.service}; GET ${failpointsPath} lists them`);
  }
  const stateOf = (point: FailpointName) => registry.list([point])[0];
  switch (request.method) {
    case 'GET':
      request.resume();
      return reply(response, 200, stateOf(name));
    case 'PUT': {
      const term = await readBody(request, termBytesMax);
      if (term === undefined) return reply(response, 413, `the term must be at most ${termBytesMax} bytes`);
      let setting;
      try {
        setting = parseFailpointSetting(options.service, name, term);
      } catch (error) {
        if (error instanceof InvalidArgumentError) return reply(response, 400, error.message);
        throw error;
      }
      registry.set(setting);
      const state = stateOf(name);
      options.logger.warn({ failpoint: name, action: state?.action }, 'failpoint set');
      return reply(response, 200, state);
    }
    case 'DELETE':
      request.resume();
      registry.set({ name, spec: undefined });
      options.logger.warn({ failpoint: name, action: 'off' }, 'failpoint set');
      return reply(response, 200, stateOf(name));
    default:
      request.resume();
      return reply(response, 405, 'use GET, PUT or DELETE', { allow: 'GET, PUT, DELETE' });
  }
}

/** Listens on host:port; rejects when it cannot (a port in use, an unknown host). */
export async function startFailpointControl(options: FailpointControlOptions): Promise<FailpointControl> {
  const { logger } = options;
  const registry = options.registry ?? processFailpoints;
  const server = createServer({ requestTimeout: requestTimeoutMs }, (request, response) => {
    answer(request, response, options, registry).catch((error: unknown) => {
      logger.error({ err: error }, 'failpoint control request failed');
      if (!response.headersSent) reply(response, 500, 'internal error');
      else response.end();
    });
  });
  server.maxConnections = connectionsMax;
  const listening = await listenHttp(server, options, (error) =>
    logger.warn({ err: error }, 'failpoint control server error'),
  );
  logger.warn({ address: listening.address, path: failpointsPath }, 'serving failpoint control');
  return { address: listening.address, close: () => listening.close() };
}

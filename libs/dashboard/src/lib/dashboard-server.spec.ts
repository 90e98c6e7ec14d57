// The dashboard's HTTP server, over real sockets on port 0: the page and its
// assets, the snapshot as JSON, the event stream and its bounds, bad
// requests, and closing.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createLogger } from '@bulwark/logging';
import { EventStreamReader, ManualDashboardSource, sampleDashboardSnapshot } from '../testing';
import type { DashboardSnapshot, DashboardSource } from './dashboard-snapshot';
import { startDashboardServer, type DashboardServer, type DashboardServerOptions } from './dashboard-server';

const logger = createLogger({ service: 'test', memberId: 'test', level: 'fatal' });

function snapshotAt(atUnixMs: number): DashboardSnapshot {
  return { ...sampleDashboardSnapshot(atUnixMs), series: [] };
}

/** Polls a condition the server does not announce (a viewer's disconnect is seen on its own schedule). */
async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends raw bytes and returns everything the server answers before it closes the connection. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.once('error', reject);
    socket.once('close', () => resolve(answer));
  });
}

describe('dashboard server', () => {
  const servers: DashboardServer[] = [];
  const readers: EventStreamReader[] = [];

  async function serve(
    source: DashboardSource,
    streamLimits?: DashboardServerOptions['streamLimits'],
  ): Promise<DashboardServer> {
    const server = await startDashboardServer({ host: '127.0.0.1', port: 0, source, logger, streamLimits });
    servers.push(server);
    return server;
  }

  async function openStream(server: DashboardServer): Promise<EventStreamReader> {
    const reader = await EventStreamReader.open(`${server.url}api/events`);
    readers.push(reader);
    return reader;
  }

  afterEach(async () => {
    for (const reader of readers.splice(0)) reader.close();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('serves the page, its own assets and uPlot from the package, with security headers', async () => {
    const server = await serve(new ManualDashboardSource(snapshotAt(1)));

    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).toContain('data-testid="leader"');
    expect(html).toContain('assets/uPlot.iife.min.js');

    const script = await fetch(`${server.url}assets/dashboard.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain("new EventSource('api/events')");
    expect((await fetch(`${server.url}assets/dashboard.css`)).headers.get('content-type')).toBe(
      'text/css; charset=utf-8',
    );

    for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
      const asset = await fetch(`${server.url}assets/${file}`);
      expect(asset.status).toBe(200);
      expect(Buffer.from(await asset.arrayBuffer())).toEqual(readFileSync(require.resolve(`uplot/dist/${file}`)));
    }

    const head = await fetch(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(html));
    expect(await head.text()).toBe('');
  });

  it('answers api/snapshot with the source snapshot as JSON, never cached', async () => {
    const snapshot = sampleDashboardSnapshot();
    const server = await serve(new ManualDashboardSource(snapshot));

    const response = await fetch(`${server.url}api/snapshot`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await response.json()).toEqual(snapshot);
  });

  it('answers 404 for unknown paths and 405 for other methods, naming the allowed ones', async () => {
    const server = await serve(new ManualDashboardSource(snapshotAt(1)));

    expect((await fetch(`${server.url}nope`)).status).toBe(404);
    expect((await fetch(`${server.url}assets/../../package.json`)).status).toBe(404);
    expect((await fetch(`${server.url}assets/index.html`)).status).toBe(404);

    const postSnapshot = await fetch(`${server.url}api/snapshot`, { method: 'POST', body: '{}' });
    expect(postSnapshot.status).toBe(405);
    expect(postSnapshot.headers.get('allow')).toBe('GET, HEAD');
    const deletePage = await fetch(server.url, { method: 'DELETE' });
    expect(deletePage.status).toBe(405);
    const postEvents = await fetch(`${server.url}api/events`, { method: 'POST' });
    expect(postEvents.status).toBe(405);
    expect(postEvents.headers.get('allow')).toBe('GET');
  });

  it('answers malformed requests with 400 and a failing source with 500, and keeps serving', async () => {
    let failing = false;
    const snapshot = snapshotAt(1);
    const source: DashboardSource = {
      snapshot: () => {
        if (failing) throw new Error('monitor state unavailable');
        return snapshot;
      },
      subscribe: () => () => undefined,
    };
    const server = await serve(source);

    expect(await rawExchange(server.port, 'GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 400 /,
    );
    expect(await rawExchange(server.port, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    failing = true;
    expect((await fetch(`${server.url}api/snapshot`)).status).toBe(500);
    expect((await fetch(`${server.url}api/events`)).status).toBe(500);
    failing = false;

    expect(await (await fetch(`${server.url}api/snapshot`)).json()).toEqual(snapshot);
  });

  it('streams the snapshot on connect and each update after, as server-sent events', async () => {
    const source = new ManualDashboardSource(snapshotAt(1));
    const server = await serve(source);

    const stream = await openStream(server);

    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-store');
    expect(stream.headers['content-security-policy']).toContain("default-src 'self'");
    expect(await stream.next()).toEqual({ retry: '2000' });
    expect(await stream.nextSnapshot()).toEqual(snapshotAt(1));
    source.publish(snapshotAt(2));
    expect(await stream.nextSnapshot()).toEqual(snapshotAt(2));
  });

  it('pushes a burst of updates at most once per interval, the latest one winning', async () => {
    const pushIntervalMsMin = 1_000;
    const source = new ManualDashboardSource(snapshotAt(1));
    const server = await serve(source, { pushIntervalMsMin });
    const stream = await openStream(server);
    await stream.nextSnapshot();

    for (const atUnixMs of [2, 3, 4, 5]) source.publish(snapshotAt(atUnixMs));

    expect((await stream.nextSnapshot()).atUnixMs).toBe(2);
    const firstPushMs = performance.now();
    expect((await stream.nextSnapshot()).atUnixMs).toBe(5);
    // A little slack for when each push is read, not when it was sent.
    expect(performance.now() - firstPushMs).toBeGreaterThanOrEqual(pushIntervalMsMin - 100);
  });

  it('sends a comment as heartbeat on an idle stream', async () => {
    const server = await serve(new ManualDashboardSource(snapshotAt(1)), { heartbeatIntervalMs: 50 });
    const stream = await openStream(server);

    expect(await stream.next((frame) => frame.comment !== undefined)).toEqual({ comment: 'heartbeat' });
  });

  it('answers 503 beyond clientsMax streams and frees a place when a viewer leaves', async () => {
    const server = await serve(new ManualDashboardSource(snapshotAt(1)), { clientsMax: 2 });
    const first = await openStream(server);
    const second = await openStream(server);
    await Promise.all([first.nextSnapshot(), second.nextSnapshot()]);

    const refused = await openStream(server);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('10');
    await refused.ended;

    first.close();
    await waitUntil(() => server.openStreams === 1);
    const third = await openStream(server);
    expect(third.status).toBe(200);
    expect((await third.nextSnapshot()).atUnixMs).toBe(1);
  });

  it('drops a viewer that stops reading once its queue passes bufferedBytesMax', async () => {
    // A snapshot far larger than the socket buffers, so most of it stays queued in the server.
    const huge = { ...snapshotAt(1), monitorId: 'm'.repeat(16 * 1024 * 1024) };
    const server = await serve(new ManualDashboardSource(huge), {
      bufferedBytesMax: 1024 * 1024,
      heartbeatIntervalMs: 20,
    });
    const stream = await openStream(server);
    stream.pause();
    expect(server.openStreams).toBe(1);

    await waitUntil(() => server.openStreams === 0);
    stream.resume();
    await stream.ended;
    await expect(stream.nextSnapshot()).rejects.toThrow('event stream ended');
  });

  it('close() cuts off a viewer that stopped reading instead of waiting for it', async () => {
    const huge = { ...snapshotAt(1), monitorId: 'm'.repeat(16 * 1024 * 1024) };
    const server = await startDashboardServer({
      host: '127.0.0.1',
      port: 0,
      source: new ManualDashboardSource(huge),
      logger,
    });
    const stream = await openStream(server);
    stream.pause();

    await server.close();

    stream.resume();
    await stream.ended;
  });

  it('close() ends open streams, stops listening to the source and frees the port', async () => {
    const source = new ManualDashboardSource(snapshotAt(1));
    const server = await startDashboardServer({ host: '127.0.0.1', port: 0, source, logger });
    const stream = await openStream(server);
    await stream.nextSnapshot();
    expect(source.subscriberCount).toBe(1);

    await server.close();

    await stream.ended;
    await expect(stream.nextSnapshot()).rejects.toThrow('event stream ended');
    expect(source.subscriberCount).toBe(0);
    await expect(fetch(server.url)).rejects.toThrow();
    await server.close();
  });
});

import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '@bulwark/logging';
import { familyOf, scrapeMetrics, valueOf } from '../testing';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import { counter, registry, scrapedGauge } from './registry';

const lines: Array<Record<string, unknown>> = [];
const logger = createLogger({
  service: 'test',
  memberId: 'test-1',
  level: 'info',
  destination: new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  }),
});

const requests = counter({ name: 'test_requests_total', help: 'Requests the test made.', labelNames: ['kind'] });
const failing = scrapedGauge({ name: 'test_failing_reader', help: 'A reader that throws while a test wants it to.' });

/** Sends raw bytes and resolves with everything the server answers before it closes. */
function exchange(address: string, bytes: string): Promise<string> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve, reject) => {
    const socket = connect(port, host.replace(/^\[(.*)\]$/, '$1'), () => socket.end(bytes));
    let received = '';
    socket.on('data', (chunk) => (received += String(chunk)));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('startMetricsServer', () => {
  let server: MetricsServer;

  beforeAll(async () => {
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, logger });
  });
  afterAll(() => server.close());

  it('binds a free port for port 0 and logs where it serves', () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'serving metrics', address: server.address, path: '/metrics' }),
    );
  });

  it('answers GET /metrics with the process registry as Prometheus text, default metrics included', async () => {
    requests.inc({ kind: 'scrape' }, 2);
    const scrape = await scrapeMetrics(server.address);
    expect(scrape.contentType).toBe(registry.contentType);
    expect(valueOf(scrape, 'test_requests_total', { kind: 'scrape' })).toBe(2);
    expect(familyOf(scrape, 'test_requests_total')).toMatchObject({
      type: 'COUNTER',
      help: 'Requests the test made.',
    });
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(familyOf(scrape, name).metrics.length).toBeGreaterThan(0);
    }
  });

  it('takes a query string, and answers HEAD without a body', async () => {
    expect((await fetch(`http://${server.address}/metrics?debug=1`)).status).toBe(200);
    const head = await fetch(`http://${server.address}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(registry.contentType);
    expect(await head.text()).toBe('');
  });

  it('answers 404 for another path and 405, naming GET, for another method', async () => {
    for (const path of ['/', '/metrics/', '/metricsx', '/Metrics']) {
      const response = await fetch(`http://${server.address}${path}`);
      expect([path, response.status]).toEqual([path, 404]);
    }
    const post = await fetch(`http://${server.address}/metrics`, { method: 'POST', body: 'x'.repeat(100_000) });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers bytes that are not HTTP with 400 and keeps serving', async () => {
    expect(await exchange(server.address, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await exchange(server.address, `GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 400 /,
    );
    expect(familyOf(await scrapeMetrics(server.address), 'test_requests_total').type).toBe('COUNTER');
  });

  it('answers 500 and logs while collecting fails, and recovers once it does not', async () => {
    const stopFailing = failing.readFrom(() => {
      throw new Error('state is gone');
    });
    const response = await fetch(`http://${server.address}/metrics`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('cannot collect metrics\n');
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'cannot collect metrics', level: 'error' }));
    stopFailing();
    expect(familyOf(await scrapeMetrics(server.address), 'test_requests_total').type).toBe('COUNTER');
  });

  it('serves an IPv6 host given in brackets', async () => {
    const v6 = await startMetricsServer({ host: '[::1]', port: 0, logger });
    try {
      expect(v6.address).toMatch(/^\[::1\]:[1-9]\d*$/);
      expect(familyOf(await scrapeMetrics(v6.address), 'test_requests_total').type).toBe('COUNTER');
    } finally {
      await v6.close();
    }
  });

  it('rejects a port in use, and closes with scrapers still connected, once however often asked', async () => {
    const port = Number(server.address.split(':')[1]);
    await expect(startMetricsServer({ host: '127.0.0.1', port, logger })).rejects.toThrow(/EADDRINUSE/);
    const other = await startMetricsServer({ host: '127.0.0.1', port: 0, logger });
    // fetch keeps its connection alive after this answer: close must not wait for the scraper to hang up.
    await scrapeMetrics(other.address);
    await Promise.all([other.close(), other.close()]);
    await expect(fetch(`http://${other.address}/metrics`)).rejects.toThrow();
  });
});

import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { Writable } from 'node:stream';
import { healthV1, kvV1, reflectionV1, replicationV1 } from '@bulwark/contracts';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '@bulwark/errors';
import { createLogger } from '@bulwark/logging';
import { startMetricsServer, type MetricsServer } from '@bulwark/metrics';
import { familyOf, samplesOf, scrapeMetrics, valueOf, type Scrape } from '@bulwark/metrics/testing';
import { callUnary, createClient } from './client';
import { codeName } from './grpc-metrics';
import { notImplemented, type HandlerKit } from './handlers';
import { startServer, type RunningServer, type ServiceBinding } from './server';

const logger = createLogger({
  service: 'test',
  memberId: 'test-1',
  level: 'fatal',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

function tinyKv(kit: HandlerKit): ServiceBinding {
  const unavailable = () => {
    throw new UnavailableError('no primary');
  };
  const implementation: kvV1.KVServer = {
    get: kit.unary((request) => {
      if (request.key === '') throw new InvalidArgumentError('key', 'must not be empty');
      return { header: undefined, found: false, kv: undefined };
    }),
    put: kit.unary(unavailable),
    delete: kit.unary(unavailable),
    batchGet: kit.unary(unavailable),
    scan: kit.unary(unavailable),
    batchPut: kit.unary(unavailable),
    txn: kit.unary(unavailable),
    locate: kit.unary(unavailable),
  };
  return { definition: kvV1.KVService, implementation };
}

/** Streams that fail: a server stream that throws, a bidi stream not served. */
function failingReplication(kit: HandlerKit): ServiceBinding {
  const implementation: replicationV1.ReplicationServer = {
    replicate: kit.bidiStream(notImplemented('Replicate')),
    fetchSnapshot: kit.serverStream(async () => {
      throw new NotFoundError('snapshot', 'no snapshot yet');
    }),
    getStatus: kit.unary(notImplemented('GetStatus')),
    getDurableState: kit.unary(notImplemented('GetDurableState')),
  };
  return { definition: replicationV1.ReplicationService, implementation };
}

const method = (type: string, service: string, name: string) => ({
  grpc_type: type,
  grpc_service: service,
  grpc_method: name,
});

describe('gRPC server metrics', () => {
  let server: RunningServer;
  let metrics: MetricsServer;
  let address: string;

  const scrape = (): Promise<Scrape> => scrapeMetrics(metrics.address);
  const handled = (scraped: Scrape, labels: Record<string, string>, code: string) =>
    valueOf(scraped, 'grpc_server_handled_total', { ...labels, grpc_code: code });

  beforeAll(async () => {
    server = await startServer({ address: '127.0.0.1:0', logger, drainDeadlineMs: 2_000 }, (kit) => [
      tinyKv(kit),
      failingReplication(kit),
    ]);
    address = `127.0.0.1:${server.port}`;
    metrics = await startMetricsServer({ host: '127.0.0.1', port: 0, logger });
  });

  afterAll(async () => {
    await server.drain('test over');
    await metrics.close();
  });

  it('has every method of every service served, health and reflection included, at zero before any call', async () => {
    const scraped = await scrape();
    const methods = [
      method('unary', 'kv.v1.KV', 'Get'),
      method('unary', 'kv.v1.KV', 'Locate'),
      method('bidi_stream', 'replication.v1.Replication', 'Replicate'),
      method('server_stream', 'replication.v1.Replication', 'FetchSnapshot'),
      method('unary', 'grpc.health.v1.Health', 'Check'),
      method('server_stream', 'grpc.health.v1.Health', 'Watch'),
      method('bidi_stream', 'grpc.reflection.v1.ServerReflection', 'ServerReflectionInfo'),
      method('bidi_stream', 'grpc.reflection.v1alpha.ServerReflection', 'ServerReflectionInfo'),
    ];
    for (const labels of methods) {
      expect([labels, valueOf(scraped, 'grpc_server_started_total', labels)]).toEqual([labels, 0]);
      expect([labels, valueOf(scraped, 'grpc_server_handling_seconds_count', labels)]).toEqual([labels, 0]);
      // Every code, as go-grpc-prometheus initializes them, each under its canonical name.
      const codes = samplesOf(scraped, 'grpc_server_handled_total', labels).map((sample) => sample.labels?.grpc_code);
      expect(codes).toHaveLength(17);
      expect(codes).toEqual(expect.arrayContaining(['OK', 'NOT_FOUND', 'UNAVAILABLE', 'UNAUTHENTICATED']));
    }
    // 8 KV methods, 4 replication, 2 health, 1 in each reflection version.
    expect(samplesOf(scraped, 'grpc_server_started_total')).toHaveLength(16);
    expect(familyOf(scraped, 'grpc_server_started_total')).toMatchObject({
      type: 'COUNTER',
      help: 'Total number of RPCs started on the server.',
    });
  });

  it('counts unary calls by the code they ended with, and times them', async () => {
    const kv = createClient(kvV1.KVClient, address);
    try {
      const get = (key: string) =>
        callUnary(kv, kv.get, { key, consistency: 0, maxStalenessMs: 0 }, { deadlineMs: 5_000 });
      await get('a');
      await get('b');
      await expect(get('')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(callUnary(kv, kv.locate, { key: 'a' }, { deadlineMs: 5_000 })).rejects.toBeInstanceOf(
        UnavailableError,
      );
    } finally {
      kv.close();
    }
    const scraped = await scrape();
    const get = method('unary', 'kv.v1.KV', 'Get');
    expect(valueOf(scraped, 'grpc_server_started_total', get)).toBe(3);
    expect(handled(scraped, get, 'OK')).toBe(2);
    expect(handled(scraped, get, 'INVALID_ARGUMENT')).toBe(1);
    expect(handled(scraped, get, 'UNAVAILABLE')).toBe(0);
    expect(handled(scraped, method('unary', 'kv.v1.KV', 'Locate'), 'UNAVAILABLE')).toBe(1);
    expect(valueOf(scraped, 'grpc_server_handling_seconds_count', get)).toBe(3);
    expect(valueOf(scraped, 'grpc_server_handling_seconds_sum', get)).toBeGreaterThan(0);
    expect(valueOf(scraped, 'grpc_server_handling_seconds_bucket', { ...get, le: '+Inf' })).toBe(3);
    expect(familyOf(scraped, 'grpc_server_handling_seconds').type).toBe('HISTOGRAM');
    // The histogram carries no code, as in go-grpc-prometheus.
    expect(samplesOf(scraped, 'grpc_server_handling_seconds_count', get)[0]?.labels).not.toHaveProperty('grpc_code');
  });

  it('counts health and streams: failures by code, a cancelled stream as CANCELLED, a stream the client ends as OK', async () => {
    const health = createClient(healthV1.HealthClient, address);
    const replication = createClient(replicationV1.ReplicationClient, address);
    const reflection = createClient(reflectionV1.ServerReflectionClient, address);
    try {
      await expect(
        callUnary(health, health.check, { service: 'nope.v1.Nope' }, { deadlineMs: 5_000 }),
      ).rejects.toBeInstanceOf(NotFoundError);

      const watch = health.watch({ service: '' }, new Metadata());
      await new Promise((resolve) => watch.once('data', resolve));
      const watchEnded = new Promise((resolve) => watch.once('error', resolve));
      watch.cancel();
      await watchEnded;
      // The server hears of the cancel after the client: a round trip on the same channel orders it.
      await callUnary(health, health.check, { service: '' }, { deadlineMs: 5_000 });

      const snapshot = replication.fetchSnapshot({ groupId: 'g', epoch: 1n, backupId: 'b' });
      await new Promise((resolve) => snapshot.once('error', resolve).on('data', () => undefined));

      const replicate = replication.replicate();
      await new Promise((resolve) => replicate.once('error', resolve).on('data', () => undefined));

      const info: ClientDuplexStream<reflectionV1.ServerReflectionRequest, reflectionV1.ServerReflectionResponse> =
        reflection.serverReflectionInfo();
      const answered = new Promise((resolve) => info.once('data', resolve));
      const finished = new Promise((resolve) => info.on('data', () => undefined).once('status', resolve));
      info.write({ host: '', messageRequest: { $case: 'listServices', listServices: '' } });
      await answered;
      info.end();
      await finished;
    } finally {
      for (const client of [health, replication, reflection]) client.close();
    }
    const scraped = await scrape();
    expect(handled(scraped, method('unary', 'grpc.health.v1.Health', 'Check'), 'NOT_FOUND')).toBe(1);
    expect(handled(scraped, method('unary', 'grpc.health.v1.Health', 'Check'), 'OK')).toBe(1);
    expect(handled(scraped, method('server_stream', 'grpc.health.v1.Health', 'Watch'), 'CANCELLED')).toBe(1);
    const fetchSnapshot = method('server_stream', 'replication.v1.Replication', 'FetchSnapshot');
    expect(handled(scraped, fetchSnapshot, 'NOT_FOUND')).toBe(1);
    expect(valueOf(scraped, 'grpc_server_started_total', fetchSnapshot)).toBe(1);
    expect(handled(scraped, method('bidi_stream', 'replication.v1.Replication', 'Replicate'), 'UNIMPLEMENTED')).toBe(1);
    const reflected = method('bidi_stream', 'grpc.reflection.v1.ServerReflection', 'ServerReflectionInfo');
    expect(handled(scraped, reflected, 'OK')).toBe(1);
    expect(valueOf(scraped, 'grpc_server_handling_seconds_count', reflected)).toBe(1);
  });

  it('names codes as the gRPC spec does, keeping the number of one outside it', () => {
    expect([0, 1, 4, 5, 14, 16].map(codeName)).toEqual([
      'OK',
      'CANCELLED',
      'DEADLINE_EXCEEDED',
      'NOT_FOUND',
      'UNAVAILABLE',
      'UNAUTHENTICATED',
    ]);
    expect(codeName(99)).toBe('99');
  });
});

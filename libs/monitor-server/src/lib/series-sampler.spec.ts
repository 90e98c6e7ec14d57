// The sampler against real HTTP servers on loopback serving Prometheus text
// that the test changes between rounds, driven with sampleOnce() on clocks
// the test sets.
import { createServer, Agent, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  ResourceExhaustedError,
  UnavailableError,
} from '@bulwark/errors';
import { expectInvalidArgument, rejection } from '@bulwark/errors/testing';
import { freePort } from '@bulwark/testing';
import { SeriesSampler, seriesListenersMax, type SeriesPoint, type SeriesSamplerOptions } from './series-sampler';
import { scrapeMetricsText } from './series-scrape';

interface MetricsEndpoint {
  readonly address: string;
  /** What GET /metrics answers now. */
  text: string;
  status: number;
  /** Answers wait for release() while set. */
  holding: boolean;
  requests: number;
  nextRequest(): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

async function serveMetrics(text = ''): Promise<MetricsEndpoint> {
  let waiters: (() => void)[] = [];
  let held: ServerResponse[] = [];
  const answer = (response: ServerResponse) =>
    response.writeHead(endpoint.status, { 'content-type': 'text/plain; version=0.0.4' }).end(endpoint.text);
  const server = createServer((request, response) => {
    endpoint.requests += 1;
    const arrived = waiters;
    waiters = [];
    for (const resolve of arrived) resolve();
    if (endpoint.holding) held.push(response);
    else answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint: MetricsEndpoint = {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    text,
    status: 200,
    holding: false,
    requests: 0,
    nextRequest: () => new Promise<void>((resolve) => waiters.push(resolve)),
    release: () => {
      const waiting = held;
      held = [];
      for (const response of waiting) answer(response);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return endpoint;
}

const handled = (service: string, method: string, code: string, value: number) =>
  `grpc_server_handled_total{grpc_type="unary",grpc_service="${service}",grpc_method="${method}",grpc_code="${code}"} ${value}`;
const bucket = (method: string, le: string, value: number) =>
  `grpc_server_handling_seconds_bucket{grpc_type="unary",grpc_service="kv.v1.KV",grpc_method="${method}",le="${le}"} ${value}`;
const histogram = (method: string, counts: [number, number, number, number]) => [
  '# TYPE grpc_server_handling_seconds histogram',
  ...(['0.005', '0.01', '0.1', '+Inf'] as const).map((le, index) => bucket(method, le, counts[index] as number)),
];
const lines = (...groups: Array<string | string[]>) => groups.flat().join('\n') + '\n';

describe('SeriesSampler', () => {
  let router1: MetricsEndpoint;
  let router2: MetricsEndpoint;
  let lock: MetricsEndpoint;
  let replica: MetricsEndpoint;
  let failing: MetricsEndpoint;
  let deadAddress: string;
  let monoMs: number;
  let unixMs: number;
  const samplers: SeriesSampler[] = [];

  function sampler(options: SeriesSamplerOptions = {}): SeriesSampler {
    const made = new SeriesSampler({ nowMonoMs: () => monoMs, nowUnixMs: () => unixMs, ...options });
    samplers.push(made);
    return made;
  }

  beforeAll(async () => {
    [router1, router2, lock, replica, failing] = await Promise.all([
      serveMetrics(),
      serveMetrics(),
      serveMetrics(),
      serveMetrics(),
      serveMetrics('server error'),
    ]);
    failing.status = 500;
    deadAddress = `127.0.0.1:${await freePort()}`;
  });

  beforeEach(() => {
    monoMs = 10_000;
    unixMs = 1_700_000_000_000;
    for (const endpoint of [router1, router2, lock, replica]) {
      endpoint.status = 200;
      endpoint.holding = false;
    }
  });

  afterEach(async () => {
    await Promise.all(samplers.splice(0).map((made) => made.stop()));
  });

  afterAll(async () => {
    await Promise.all([router1, router2, lock, replica, failing].map((endpoint) => endpoint.close()));
  });

  it('computes throughput, latency quantiles and lag from two successive scrapes of every target', async () => {
    const subject = sampler();
    const received: SeriesPoint[] = [];
    const unsubscribe = subject.onPoint((point) => received.push(point));
    subject.setTargets([
      { memberId: 'router-1', role: 'router', metricsAddress: router1.address },
      { memberId: 'router-2', role: 'router', metricsAddress: router2.address },
      { memberId: 'lock-1', role: 'lock', metricsAddress: lock.address },
      { memberId: 'replica-1', role: 'replica', metricsAddress: replica.address },
      { memberId: 'router-3', role: 'router', metricsAddress: failing.address },
      { memberId: 'router-4', role: 'router', metricsAddress: deadAddress },
    ]);

    router1.text = lines(
      handled('kv.v1.KV', 'Put', 'OK', 100),
      handled('kv.v1.KV', 'Get', 'OK', 50),
      handled('grpc.health.v1.Health', 'Check', 'OK', 999),
      histogram('Put', [80, 95, 100, 100]),
      histogram('Get', [50, 50, 50, 50]),
    );
    router2.text = lines(handled('kv.v1.KV', 'Put', 'OK', 1_000), histogram('Put', [1_000, 1_000, 1_000, 1_000]));
    lock.text = lines(handled('lock.v1.Lock', 'TryAcquire', 'OK', 10));
    replica.text = lines(
      'bulwark_replication_lag_entries{group="g1",member="replica-2"} 3',
      'bulwark_replication_lag_entries{group="g1",member="replica-3"} 12',
      'bulwark_replication_lag_seconds{group="g1",member="replica-2"} 0.004',
      'bulwark_replication_lag_seconds{group="g1",member="replica-3"} 0.25',
    );
    const first = await subject.sampleOnce();
    // Nothing to take a rate over yet; the lag is what the replicas report now.
    expect(first).toEqual({
      atUnixMs: 1_700_000_000_000,
      kvRequestsPerSec: 0,
      kvLatencyP50Ms: null,
      kvLatencyP99Ms: null,
      lockRequestsPerSec: 0,
      replicationLagMsMax: 250,
      replicationLagEntriesMax: 12,
    });

    monoMs += 2_000;
    unixMs += 2_000;
    // router-1: Put +40 OK and a first UNAVAILABLE (+2), Get +10: 52 in 2 s. Health calls do not count.
    router1.text = lines(
      handled('kv.v1.KV', 'Put', 'OK', 140),
      handled('kv.v1.KV', 'Put', 'UNAVAILABLE', 2),
      handled('kv.v1.KV', 'Get', 'OK', 60),
      handled('grpc.health.v1.Health', 'Check', 'OK', 1_500),
      histogram('Put', [100, 125, 138, 142]),
      histogram('Get', [58, 60, 60, 60]),
    );
    // router-2 restarted: its counters went down, and all of the new values count (8 in 2 s).
    router2.text = lines(handled('kv.v1.KV', 'Put', 'OK', 8), histogram('Put', [0, 0, 8, 8]));
    lock.text = lines(handled('lock.v1.Lock', 'TryAcquire', 'OK', 31));
    replica.text = lines(
      'bulwark_replication_lag_entries{group="g1",member="replica-2"} 7',
      'bulwark_replication_lag_entries{group="g1",member="replica-3"} 1',
      'bulwark_replication_lag_seconds{group="g1",member="replica-2"} 0.5',
      'bulwark_replication_lag_seconds{group="g1",member="replica-3"} 0.01',
    );
    const second = await subject.sampleOnce();
    // Bucket increases over both routers: <=5 ms 28, <=10 ms 40, <=100 ms 56, all 60.
    // p50 is rank 30: 2 of the 12 between 5 and 10 ms. p99 is rank 59.4, past 100 ms: the largest finite bound.
    expect(second).toEqual({
      atUnixMs: 1_700_000_002_000,
      kvRequestsPerSec: 26 + 4,
      kvLatencyP50Ms: expect.closeTo(5 + 5 * (2 / 12), 9),
      kvLatencyP99Ms: 100,
      lockRequestsPerSec: 10.5,
      replicationLagMsMax: 500,
      replicationLagEntriesMax: 7,
    });
    expect(subject.points()).toEqual([first, second]);
    expect(received).toEqual([first, second]);

    unsubscribe();
    await subject.sampleOnce();
    expect(received).toHaveLength(2);
    expect(subject.points()).toHaveLength(3);
  });

  it(`takes at most ${seriesListenersMax} listeners at once`, () => {
    const subject = sampler();
    const unsubscribes = Array.from({ length: seriesListenersMax }, () => subject.onPoint(() => undefined));
    expect(() => subject.onPoint(() => undefined)).toThrow(ResourceExhaustedError);
    unsubscribes[0]?.();
    expect(typeof subject.onPoint(() => undefined)).toBe('function');
  });

  it('leaves a target that did not answer out of the point, and compares its next answer with its last one', async () => {
    const subject = sampler();
    subject.setTargets([{ memberId: 'router-1', role: 'router', metricsAddress: router1.address }]);
    router1.text = lines(handled('kv.v1.KV', 'Get', 'OK', 100));
    await subject.sampleOnce();

    monoMs += 2_000;
    router1.status = 503;
    expect((await subject.sampleOnce()).kvRequestsPerSec).toBe(0);

    monoMs += 4_000;
    router1.status = 200;
    router1.text = lines(handled('kv.v1.KV', 'Get', 'OK', 160));
    // 60 calls over the 6 s since its last answer.
    expect((await subject.sampleOnce()).kvRequestsPerSec).toBe(10);
  });

  it('starts afresh with a target that moved to another address', async () => {
    const subject = sampler();
    router1.text = lines(handled('kv.v1.KV', 'Get', 'OK', 100));
    router2.text = lines(handled('kv.v1.KV', 'Get', 'OK', 500));
    subject.setTargets([{ memberId: 'router-1', role: 'router', metricsAddress: router1.address }]);
    await subject.sampleOnce();
    monoMs += 2_000;
    subject.setTargets([{ memberId: 'router-1', role: 'router', metricsAddress: router2.address }]);
    expect((await subject.sampleOnce()).kvRequestsPerSec).toBe(0);
    monoMs += 2_000;
    router2.text = lines(handled('kv.v1.KV', 'Get', 'OK', 520));
    expect((await subject.sampleOnce()).kvRequestsPerSec).toBe(10);
  });

  it('keeps at most one scrape in flight per target', async () => {
    const subject = sampler();
    const router = { memberId: 'router-1', role: 'router', metricsAddress: router1.address } as const;
    subject.setTargets([router]);
    router1.holding = true;
    const requestsBefore = router1.requests;
    const arrived = router1.nextRequest();
    const slowRound = subject.sampleOnce();
    await arrived;

    // router-1 stays (same address and role) with its scrape in flight; the lock service is new.
    subject.setTargets([router, { memberId: 'lock-1', role: 'lock', metricsAddress: lock.address }]);
    const lockRequests = lock.requests;
    await subject.sampleOnce();
    expect(router1.requests).toBe(requestsBefore + 1);
    expect(lock.requests).toBe(lockRequests + 1);

    router1.holding = false;
    router1.release();
    await slowRound;
    await subject.sampleOnce();
    expect(router1.requests).toBe(requestsBefore + 2);
  });

  it(`keeps the last pointsMax points, oldest first`, async () => {
    const subject = sampler({ pointsMax: 2 });
    for (let round = 0; round < 3; round += 1) {
      unixMs += 2_000;
      await subject.sampleOnce();
    }
    expect(subject.points().map((point) => point.atUnixMs)).toEqual([1_700_000_004_000, 1_700_000_006_000]);
  });

  it('samples on its timer from start() until stop(), which abandons a scrape in flight and adds no point after', async () => {
    let twoPoints!: () => void;
    const timed = new Promise<void>((resolve) => (twoPoints = resolve));
    const subject = sampler({ intervalMs: 10 });
    subject.setTargets([{ memberId: 'router-1', role: 'router', metricsAddress: router1.address }]);
    subject.onPoint(() => {
      if (subject.points().length === 2) twoPoints();
    });
    subject.start();
    await timed;

    router1.holding = true;
    await router1.nextRequest();
    const kept = subject.points().length;
    await subject.stop();
    expect(subject.points()).toHaveLength(kept);
    expect(await rejection(subject.sampleOnce())).toBeInstanceOf(CancelledError);
    router1.release();
  });

  it('refuses targets it could never scrape, naming the field', () => {
    const subject = sampler();
    const refused = (targets: Parameters<SeriesSampler['setTargets']>[0]) => {
      try {
        subject.setTargets(targets);
      } catch (error) {
        return error instanceof InvalidArgumentError ? error.details.field : error;
      }
      return undefined;
    };
    const router = { memberId: 'router-1', role: 'router', metricsAddress: router1.address } as const;
    expect(refused([router, router])).toBe('targets[1].memberId');
    expect(refused([{ ...router, metricsAddress: 'nowhere' }])).toBe('targets[0].metricsAddress');
    expect(refused([{ ...router, role: 'coordinator' as 'router' }])).toBe('targets[0].role');
    expect(refused(Array.from({ length: 4_097 }, (_, index) => ({ ...router, memberId: `router-${index}` })))).toBe(
      'targets',
    );
    expectInvalidArgument(() => new SeriesSampler({ pointsMax: 0 }), 'pointsMax');
    expectInvalidArgument(() => new SeriesSampler({ intervalMs: 0 }), 'intervalMs');
    expectInvalidArgument(() => new SeriesSampler({ scrapeBytesMax: 1.5 }), 'scrapeBytesMax');
  });
});

describe('scrapeMetricsText', () => {
  let endpoint: MetricsEndpoint;
  const agent = new Agent({ keepAlive: false });
  const limits = { timeoutMs: 2_000, bytesMax: 1_000 };
  const never = new AbortController().signal;

  beforeAll(async () => {
    endpoint = await serveMetrics();
  });
  beforeEach(() => {
    endpoint.status = 200;
    endpoint.holding = false;
  });
  afterAll(async () => {
    agent.destroy();
    await endpoint.close();
  });

  it('answers the body of a 200 answer', async () => {
    endpoint.text = 'lag 1\n';
    expect(await scrapeMetricsText(endpoint.address, limits, { agent, signal: never })).toBe('lag 1\n');
  });

  it('refuses another status, a body over bytesMax, a target nobody serves', async () => {
    endpoint.status = 404;
    const notFound = await rejection(scrapeMetricsText(endpoint.address, limits, { agent, signal: never }));
    expect(notFound).toBeInstanceOf(UnavailableError);
    expect(notFound.message).toBe(`GET http://${endpoint.address}/metrics answered 404`);

    endpoint.status = 200;
    endpoint.text = 'x'.repeat(1_001);
    expect(await rejection(scrapeMetricsText(endpoint.address, limits, { agent, signal: never }))).toBeInstanceOf(
      ResourceExhaustedError,
    );

    const dead = `127.0.0.1:${await freePort()}`;
    const refused = await rejection(scrapeMetricsText(dead, limits, { agent, signal: never }));
    expect(refused).toBeInstanceOf(UnavailableError);
    expect(refused.message).toMatch(/ECONNREFUSED/);
  });

  it('gives up past timeoutMs, and at once when the signal aborts', async () => {
    endpoint.holding = true;
    const late = await rejection(
      scrapeMetricsText(endpoint.address, { ...limits, timeoutMs: 50 }, { agent, signal: never }),
    );
    expect(late).toBeInstanceOf(DeadlineExceededError);
    expect(late.message).toBe(`GET http://${endpoint.address}/metrics took more than 50 ms`);

    const stopping = new AbortController();
    const arrived = endpoint.nextRequest();
    const abandoned = scrapeMetricsText(endpoint.address, limits, { agent, signal: stopping.signal });
    await arrived;
    stopping.abort();
    expect(await rejection(abandoned)).toBeInstanceOf(CancelledError);
    endpoint.release();
  });
});

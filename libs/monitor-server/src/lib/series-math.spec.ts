// The chart arithmetic on hand-computed examples, no I/O.
import {
  counterIncrease,
  handledRate,
  handlingBucketIncrease,
  histogramQuantile,
  pointOf,
  readingOf,
  sampledMetricNames,
  type SeriesRole,
  type TargetReading,
} from './series-math';
import { parseMetricsText } from './series-metrics-text';

function reading(role: SeriesRole, atMonoMs: number, lines: string[]): TargetReading {
  return readingOf(parseMetricsText(lines.join('\n'), sampledMetricNames), role, atMonoMs);
}

const kvPut = 'grpc_type="unary",grpc_service="kv.v1.KV",grpc_method="Put"';
const kvGet = 'grpc_type="unary",grpc_service="kv.v1.KV",grpc_method="Get"';

function buckets(entries: Array<[number, number]>) {
  return entries.map(([upperBound, count]) => ({ upperBound, count }));
}

describe('counterIncrease', () => {
  it('is the difference, or after a reset (the value went down) the whole new value', () => {
    expect(counterIncrease(10, 15)).toBe(5);
    expect(counterIncrease(10, 10)).toBe(0);
    expect(counterIncrease(100, 7)).toBe(7);
    expect(counterIncrease(100, 0)).toBe(0);
  });
});

describe('histogramQuantile', () => {
  const latency = buckets([
    [0.005, 28],
    [0.01, 40],
    [0.1, 56],
    [Number.POSITIVE_INFINITY, 60],
  ]);

  it('interpolates linearly within the bucket the rank falls in', () => {
    // Rank 30 of 60: 2 of the 12 observations between 5 and 10 ms.
    expect(histogramQuantile(0.5, latency)).toBeCloseTo(0.005 + 0.005 * (2 / 12), 12);
    // Rank 54: 14 of the 16 between 10 and 100 ms.
    expect(histogramQuantile(0.9, latency)).toBeCloseTo(0.01 + 0.09 * (14 / 16), 12);
    // Rank 15 in the first bucket, which starts at 0.
    expect(histogramQuantile(0.25, latency)).toBeCloseTo(0.005 * (15 / 28), 12);
  });

  it('answers the largest finite bound for a rank in the +Inf bucket', () => {
    // Rank 59.4 is past the 56 observations at or under 100 ms.
    expect(histogramQuantile(0.99, latency)).toBe(0.1);
  });

  it('takes buckets in any order, adds up buckets of one bound, and makes counts monotonic', () => {
    expect(histogramQuantile(0.5, [...latency].reverse())).toBeCloseTo(0.005 + 0.005 * (2 / 12), 12);
    const split = buckets([
      [0.1, 4],
      [0.1, 6],
      [Number.POSITIVE_INFINITY, 10],
    ]);
    expect(histogramQuantile(0.5, split)).toBeCloseTo(0.05, 12);
    const dipping = buckets([
      [0.1, 10],
      [0.2, 8],
      [Number.POSITIVE_INFINITY, 10],
    ]);
    expect(histogramQuantile(0.5, dipping)).toBeCloseTo(0.05, 12);
  });

  it('answers a first bound that is not positive as it is', () => {
    expect(
      histogramQuantile(
        0.25,
        buckets([
          [-1, 5],
          [Number.POSITIVE_INFINITY, 10],
        ]),
      ),
    ).toBe(-1);
  });

  it('is null where Prometheus answers NaN: no +Inf bucket, a single bucket, no observations', () => {
    expect(histogramQuantile(0.5, [])).toBeNull();
    expect(histogramQuantile(0.5, buckets([[0.1, 5]]))).toBeNull();
    expect(histogramQuantile(0.5, buckets([[Number.POSITIVE_INFINITY, 5]]))).toBeNull();
    expect(
      histogramQuantile(
        0.5,
        buckets([
          [0.1, 0],
          [Number.POSITIVE_INFINITY, 0],
        ]),
      ),
    ).toBeNull();
  });

  it('is -Inf and +Inf for q outside 0 to 1, as in Prometheus', () => {
    expect(histogramQuantile(-0.1, latency)).toBe(Number.NEGATIVE_INFINITY);
    expect(histogramQuantile(1.1, latency)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('readingOf', () => {
  it("keeps the role's service only, buckets by series and bound, and lags of replicas only", () => {
    const lines = [
      `grpc_server_handled_total{${kvPut},grpc_code="OK"} 5`,
      `grpc_server_handled_total{grpc_type="unary",grpc_service="grpc.health.v1.Health",grpc_method="Check",grpc_code="OK"} 99`,
      `grpc_server_handling_seconds_bucket{${kvPut},le="0.1"} 4`,
      `grpc_server_handling_seconds_bucket{${kvPut},le="+Inf"} 5`,
      `grpc_server_handling_seconds_bucket{${kvPut},le="bogus"} 5`,
      'bulwark_replication_lag_entries{group="g1",member="b"} 3',
      'bulwark_replication_lag_seconds{group="g1",member="b"} 0.25',
      'bulwark_replication_lag_entries{group="g1",member="c"} 1',
      'process_start_time_seconds 1700000000',
    ];
    const router = reading('router', 10, lines);
    expect([...router.handled.values()]).toEqual([5]);
    expect([...router.handlingBuckets.values()]).toEqual([
      new Map([
        [0.1, 4],
        [Number.POSITIVE_INFINITY, 5],
      ]),
    ]);
    expect(router).toMatchObject({ atMonoMs: 10, processStartSeconds: 1_700_000_000, lagEntriesMax: null });
    const replica = reading('replica', 10, lines);
    expect(replica.handled.size).toBe(0);
    expect(replica.lagEntriesMax).toBe(3);
    expect(replica.lagByMember).toEqual(
      new Map([
        ['b', { entries: 3, seconds: 0.25 }],
        ['c', { entries: 1, seconds: 0 }],
      ]),
    );
    expect(router.lagByMember.size).toBe(0);
    // A lock service counts lock.v1.Lock, not kv.v1.KV.
    expect(reading('lock', 10, lines).handled.size).toBe(0);
  });
});

describe('handledRate and handlingBucketIncrease', () => {
  const before = reading('router', 1_000, [
    `grpc_server_handled_total{${kvPut},grpc_code="OK"} 100`,
    `grpc_server_handled_total{${kvGet},grpc_code="OK"} 50`,
    `grpc_server_handling_seconds_bucket{${kvPut},le="0.1"} 90`,
    `grpc_server_handling_seconds_bucket{${kvPut},le="+Inf"} 100`,
    'process_start_time_seconds 1000',
  ]);

  it('divides the increase of every series by the seconds between the scrapes; a new series began at 0', () => {
    const after = reading('router', 3_000, [
      `grpc_server_handled_total{${kvGet},grpc_code="OK"} 60`,
      `grpc_server_handled_total{${kvPut},grpc_code="OK"} 130`,
      `grpc_server_handled_total{${kvPut},grpc_code="UNAVAILABLE"} 2`,
      `grpc_server_handling_seconds_bucket{${kvPut},le="0.1"} 110`,
      `grpc_server_handling_seconds_bucket{${kvPut},le="+Inf"} 132`,
      'process_start_time_seconds 1000',
    ]);
    // (30 + 10 + 2) / 2 s.
    expect(handledRate({ role: 'router', previous: before, current: after })).toBe(21);
    expect(handlingBucketIncrease({ role: 'router', previous: before, current: after })).toEqual(
      new Map([
        [0.1, 20],
        [Number.POSITIVE_INFINITY, 32],
      ]),
    );
  });

  it('counts a counter that went down as reset, and a histogram with one bucket down as reset as a whole', () => {
    const after = reading('router', 2_000, [
      `grpc_server_handled_total{${kvPut},grpc_code="OK"} 8`,
      `grpc_server_handled_total{${kvGet},grpc_code="OK"} 52`,
      `grpc_server_handling_seconds_bucket{${kvPut},le="0.1"} 7`,
      `grpc_server_handling_seconds_bucket{${kvPut},le="+Inf"} 108`,
    ]);
    expect(handledRate({ role: 'router', previous: before, current: after })).toBe(8 + 2);
    expect(handlingBucketIncrease({ role: 'router', previous: before, current: after })).toEqual(
      new Map([
        [0.1, 7],
        [Number.POSITIVE_INFINITY, 108],
      ]),
    );
  });

  it('counts everything after a restart (a new process start time), even counters that grew past their old value', () => {
    const after = reading('router', 2_000, [
      `grpc_server_handled_total{${kvPut},grpc_code="OK"} 120`,
      `grpc_server_handled_total{${kvGet},grpc_code="OK"} 60`,
      `grpc_server_handling_seconds_bucket{${kvPut},le="0.1"} 95`,
      `grpc_server_handling_seconds_bucket{${kvPut},le="+Inf"} 120`,
      'process_start_time_seconds 1001',
    ]);
    expect(handledRate({ role: 'router', previous: before, current: after })).toBe(180);
    expect(handlingBucketIncrease({ role: 'router', previous: before, current: after })).toEqual(
      new Map([
        [0.1, 95],
        [Number.POSITIVE_INFINITY, 120],
      ]),
    );
  });

  it("has nothing for a target's first reading or an interval without length", () => {
    expect(handledRate({ role: 'router', previous: undefined, current: before })).toBeNull();
    expect(handledRate({ role: 'router', previous: before, current: before })).toBeNull();
    expect(handlingBucketIncrease({ role: 'router', previous: undefined, current: before }).size).toBe(0);
  });
});

describe('pointOf', () => {
  const lockLines = (tryAcquires: number) => [
    `grpc_server_handled_total{grpc_type="unary",grpc_service="lock.v1.Lock",grpc_method="TryAcquire",grpc_code="OK"} ${tryAcquires}`,
  ];
  const replicaLines = (entries: number[], seconds: number[]) => [
    ...entries.map((value, index) => `bulwark_replication_lag_entries{group="g1",member="r${index}"} ${value}`),
    ...seconds.map((value, index) => `bulwark_replication_lag_seconds{group="g1",member="r${index}"} ${value}`),
  ];

  it('adds up the rates per role and buckets over routers, and takes the largest lag of the replicas answering now', () => {
    const routerA = [
      reading('router', 0, [
        `grpc_server_handled_total{${kvGet},grpc_code="OK"} 10`,
        `grpc_server_handling_seconds_bucket{${kvGet},le="0.01"} 10`,
        `grpc_server_handling_seconds_bucket{${kvGet},le="+Inf"} 10`,
      ]),
      reading('router', 4_000, [
        `grpc_server_handled_total{${kvGet},grpc_code="OK"} 30`,
        `grpc_server_handling_seconds_bucket{${kvGet},le="0.01"} 26`,
        `grpc_server_handling_seconds_bucket{${kvGet},le="+Inf"} 30`,
      ]),
    ] as const;
    const routerB = [
      reading('router', 1_000, [`grpc_server_handled_total{${kvPut},grpc_code="OK"} 0`]),
      reading('router', 3_000, [
        `grpc_server_handled_total{${kvPut},grpc_code="OK"} 4`,
        `grpc_server_handling_seconds_bucket{${kvPut},le="0.01"} 0`,
        `grpc_server_handling_seconds_bucket{${kvPut},le="+Inf"} 4`,
      ]),
    ] as const;
    const point = pointOf(1_700_000_000_000, [
      { role: 'router', previous: routerA[0], current: routerA[1] },
      { role: 'router', previous: routerB[0], current: routerB[1] },
      // First answer of this router: it adds nothing yet.
      { role: 'router', previous: undefined, current: routerA[1] },
      { role: 'lock', previous: reading('lock', 0, lockLines(5)), current: reading('lock', 2_000, lockLines(25)) },
      { role: 'replica', previous: undefined, current: reading('replica', 0, replicaLines([3, 12], [0.25, 0.004])) },
      { role: 'replica', previous: undefined, current: reading('replica', 0, replicaLines([7], [0.01])) },
    ]);
    // 16 of the 20 + 4 = 24 calls took at most 10 ms: p50 is rank 12 of those 16, p99 is past them.
    expect(point).toEqual({
      atUnixMs: 1_700_000_000_000,
      kvRequestsPerSec: 20 / 4 + 4 / 2,
      kvLatencyP50Ms: expect.closeTo(10 * (12 / 16), 9),
      kvLatencyP99Ms: 10,
      lockRequestsPerSec: 10,
      replicationLagMsMax: 250,
      replicationLagEntriesMax: 12,
    });
  });

  it('has zero rates, no latency and no lag without answers', () => {
    expect(pointOf(5, [])).toEqual({
      atUnixMs: 5,
      kvRequestsPerSec: 0,
      kvLatencyP50Ms: null,
      kvLatencyP99Ms: null,
      lockRequestsPerSec: 0,
      replicationLagMsMax: null,
      replicationLagEntriesMax: null,
    });
  });
});

// The arithmetic behind the dashboard's charts, from two successive scrapes
// of each target: request rates from counter increases, latency quantiles
// from the increase of histogram buckets (as Prometheus's
// histogram_quantile(q, sum by (le) (rate(..._bucket[...])))), and the
// largest replication lag. Counters restart at zero with their process: a
// value that went down (or a new process_start_time_seconds) counts as if
// the counter had been zero before, as Prometheus's rate() counts a reset.
// Pure: no clock, no I/O.
import { parseSampleValue, type MetricSample } from './series-metrics-text';

export type SeriesRole = 'router' | 'lock' | 'replica';

/** One point of the dashboard's charts. */
export interface SeriesPoint {
  readonly atUnixMs: number;
  /** kv.v1.KV calls handled per second, every router together. */
  readonly kvRequestsPerSec: number;
  /** Median kv.v1.KV call on the routers in the interval; null without calls. */
  readonly kvLatencyP50Ms: number | null;
  readonly kvLatencyP99Ms: number | null;
  /** lock.v1.Lock calls handled per second, every lock service together. */
  readonly lockRequestsPerSec: number;
  /** The largest lag any replica reports; null when no replica reported one. */
  readonly replicationLagMsMax: number | null;
  readonly replicationLagEntriesMax: number | null;
}

export const metricNames = Object.freeze({
  handled: 'grpc_server_handled_total',
  handlingBucket: 'grpc_server_handling_seconds_bucket',
  lagEntries: 'bulwark_replication_lag_entries',
  lagSeconds: 'bulwark_replication_lag_seconds',
  processStart: 'process_start_time_seconds',
});

/** The families a scrape is parsed for; every other line is skipped. */
export const sampledMetricNames: ReadonlySet<string> = new Set(Object.values(metricNames));

/** The gRPC service whose calls a role's rate counts; replicas are read for their lag only. */
export const servedServiceOf: Readonly<Record<SeriesRole, string | null>> = Object.freeze({
  router: 'kv.v1.KV',
  lock: 'lock.v1.Lock',
  replica: null,
});

/** What is kept of one target's scrape. */
export interface TargetReading {
  /** Monotonic ms at which the scrape was sent. */
  readonly atMonoMs: number;
  /** The process's start, when it reports one: a change means every counter began again. */
  readonly processStartSeconds: number | null;
  /** grpc_server_handled_total of the role's service, by series. */
  readonly handled: ReadonlyMap<string, number>;
  /** grpc_server_handling_seconds_bucket of the role's service, by series (its labels but le), count by bound. */
  readonly handlingBuckets: ReadonlyMap<string, ReadonlyMap<number, number>>;
  readonly lagEntriesMax: number | null;
  readonly lagSecondsMax: number | null;
  /** Each backup's lag as this primary reports it, by the backup's member id. */
  readonly lagByMember: ReadonlyMap<string, MemberLagReading>;
}

export interface MemberLagReading {
  readonly entries: number;
  readonly seconds: number;
}

/** A target's reading and the one before it, if the target answered before. */
export interface TargetInterval {
  readonly role: SeriesRole;
  readonly previous: TargetReading | undefined;
  readonly current: TargetReading;
}

export interface HistogramBucket {
  /** The bucket's le: +Infinity for the last. */
  readonly upperBound: number;
  /** Observations at or below upperBound (cumulative). */
  readonly count: number;
}

/** The same labels give the same key, in whatever order they came. */
function seriesKeyOf(labels: ReadonlyMap<string, string>, omitted: string | null = null): string {
  return JSON.stringify([...labels].filter(([name]) => name !== omitted).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function maxOf(current: number | null, value: number): number | null {
  return Number.isFinite(value) && (current === null || value > current) ? value : current;
}

/** Keeps what a target of `role` contributes to a point. */
export function readingOf(samples: readonly MetricSample[], role: SeriesRole, atMonoMs: number): TargetReading {
  const service = servedServiceOf[role];
  const handled = new Map<string, number>();
  const handlingBuckets = new Map<string, Map<number, number>>();
  let processStartSeconds: number | null = null;
  let lagEntriesMax: number | null = null;
  let lagSecondsMax: number | null = null;
  const lagByMember = new Map<string, MemberLagReading>();
  const lagOf = (labels: ReadonlyMap<string, string>) =>
    lagByMember.get(labels.get('member') ?? '') ?? { entries: 0, seconds: 0 };
  for (const { name, labels, value } of samples) {
    const ofService = service !== null && labels.get('grpc_service') === service;
    if (name === metricNames.processStart) {
      processStartSeconds = value;
    } else if (name === metricNames.handled && ofService) {
      handled.set(seriesKeyOf(labels), value);
    } else if (name === metricNames.handlingBucket && ofService) {
      const upperBound = parseSampleValue(labels.get('le') ?? '');
      // histogram_quantile ignores a bucket without a usable bound too.
      if (upperBound === undefined || Number.isNaN(upperBound)) continue;
      const key = seriesKeyOf(labels, 'le');
      const buckets = handlingBuckets.get(key) ?? new Map<number, number>();
      handlingBuckets.set(key, buckets.set(upperBound, value));
    } else if (name === metricNames.lagEntries && role === 'replica') {
      lagEntriesMax = maxOf(lagEntriesMax, value);
      if (labels.has('member')) lagByMember.set(labels.get('member') as string, { ...lagOf(labels), entries: value });
    } else if (name === metricNames.lagSeconds && role === 'replica') {
      lagSecondsMax = maxOf(lagSecondsMax, value);
      if (labels.has('member')) lagByMember.set(labels.get('member') as string, { ...lagOf(labels), seconds: value });
    }
  }
  return { atMonoMs, processStartSeconds, handled, handlingBuckets, lagEntriesMax, lagSecondsMax, lagByMember };
}

/** How much a counter grew: after a reset (it went down) all of its current value. */
export function counterIncrease(previous: number, current: number): number {
  return current >= previous ? current - previous : current;
}

/**
 * The target's previous reading and the seconds since, or null when there
 * is none to compare with (its first reading). After a restart (a new
 * process start time) the previous reading is empty: every counter began
 * again from zero.
 */
function baselineOf(interval: TargetInterval): { previous: TargetReading; seconds: number } | null {
  const { previous, current } = interval;
  if (!previous) return null;
  const seconds = (current.atMonoMs - previous.atMonoMs) / 1_000;
  if (!(seconds > 0)) return null;
  const restarted =
    previous.processStartSeconds !== null &&
    current.processStartSeconds !== null &&
    previous.processStartSeconds !== current.processStartSeconds;
  return restarted
    ? { previous: { ...previous, handled: new Map(), handlingBuckets: new Map() }, seconds }
    : { previous, seconds };
}

/** Calls handled per second over the interval; null for a target's first reading. */
export function handledRate(interval: TargetInterval): number | null {
  const baseline = baselineOf(interval);
  if (!baseline) return null;
  let increase = 0;
  // A series missing before was at zero then (the target answered without it).
  for (const [key, value] of interval.current.handled) {
    increase += counterIncrease(baseline.previous.handled.get(key) ?? 0, value);
  }
  return increase / baseline.seconds;
}

/** The buckets' increase over the interval, every series added up, by bound; empty for a first reading. */
export function handlingBucketIncrease(interval: TargetInterval): Map<number, number> {
  const increase = new Map<number, number>();
  const baseline = baselineOf(interval);
  if (!baseline) return increase;
  for (const [key, buckets] of interval.current.handlingBuckets) {
    const before = baseline.previous.handlingBuckets.get(key);
    // A histogram resets as a whole: one bucket that went down means its process began again.
    const reset = [...buckets].some(([bound, count]) => count < (before?.get(bound) ?? 0));
    for (const [bound, count] of buckets) {
      const grown = reset ? count : count - (before?.get(bound) ?? 0);
      increase.set(bound, (increase.get(bound) ?? 0) + grown);
    }
  }
  return increase;
}

/**
 * The q-quantile of the observations in cumulative buckets, interpolated
 * linearly within the bucket it falls in, as Prometheus's
 * histogram_quantile (promql/quantile.go bucketQuantile) computes it: the
 * first bucket starts at 0 (or is its own bound when that is not
 * positive), a quantile in the +Inf bucket is the largest finite bound,
 * counts are made monotonic first. null where Prometheus answers NaN:
 * without a +Inf bucket, with fewer than two buckets, or no observations.
 */
export function histogramQuantile(q: number, buckets: readonly HistogramBucket[]): number | null {
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...buckets].sort((a, b) => a.upperBound - b.upperBound);
  if (sorted.at(-1)?.upperBound !== Number.POSITIVE_INFINITY) return null;
  // Buckets of one bound (series whose labels differ elsewhere) are one bucket.
  const coalesced: { upperBound: number; count: number }[] = [];
  for (const bucket of sorted) {
    const last = coalesced.at(-1);
    if (last?.upperBound === bucket.upperBound) last.count += bucket.count;
    else coalesced.push({ ...bucket });
  }
  // Buckets read a moment apart can disagree: a count never falls as the bound grows.
  let highest = Number.NEGATIVE_INFINITY;
  for (const bucket of coalesced) {
    highest = Math.max(highest, bucket.count);
    bucket.count = highest;
  }
  if (coalesced.length < 2) return null;
  const observations = highest;
  if (observations === 0) return null;
  let rank = q * observations;
  // The first bucket holding the rank; the +Inf bucket when no finite one does.
  let index = 0;
  while (index < coalesced.length - 1 && (coalesced[index] as HistogramBucket).count < rank) index += 1;
  const below = coalesced[index - 1];
  if (index === coalesced.length - 1) return (below as HistogramBucket).upperBound;
  const bucket = coalesced[index] as HistogramBucket;
  if (!below) return bucket.upperBound <= 0 ? bucket.upperBound : bucket.upperBound * (rank / bucket.count);
  rank -= below.count;
  return below.upperBound + (bucket.upperBound - below.upperBound) * (rank / (bucket.count - below.count));
}

/** Seconds to ms, null kept. */
function toMs(seconds: number | null): number | null {
  return seconds === null ? null : seconds * 1_000;
}

/**
 * The point for a round: rates and latencies over each target's interval
 * (targets answering for the first time add nothing), lags from this
 * round's readings. Only targets that answered this round are passed in.
 */
export function pointOf(atUnixMs: number, intervals: readonly TargetInterval[]): SeriesPoint {
  const rateOf = (role: SeriesRole) =>
    intervals
      .filter((interval) => interval.role === role)
      .reduce((sum, interval) => sum + (handledRate(interval) ?? 0), 0);
  const kvBuckets = new Map<number, number>();
  for (const interval of intervals.filter((each) => each.role === 'router')) {
    for (const [bound, count] of handlingBucketIncrease(interval))
      kvBuckets.set(bound, (kvBuckets.get(bound) ?? 0) + count);
  }
  const latency = [...kvBuckets].map(([upperBound, count]) => ({ upperBound, count }));
  const replicas = intervals.filter((interval) => interval.role === 'replica').map((interval) => interval.current);
  return {
    atUnixMs,
    kvRequestsPerSec: rateOf('router'),
    kvLatencyP50Ms: toMs(histogramQuantile(0.5, latency)),
    kvLatencyP99Ms: toMs(histogramQuantile(0.99, latency)),
    lockRequestsPerSec: rateOf('lock'),
    replicationLagMsMax: toMs(
      replicas.reduce<number | null>((max, reading) => maxOf(max, reading.lagSecondsMax ?? Number.NaN), null),
    ),
    replicationLagEntriesMax: replicas.reduce<number | null>(
      (max, reading) => maxOf(max, reading.lagEntriesMax ?? Number.NaN),
      null,
    ),
  };
}

// The dashboard's throughput, latency and lag charts: every intervalMs the
// sampler scrapes each target's Prometheus endpoint and turns this round's
// scrapes and each target's previous one into a point (series-math.ts),
// keeping the last pointsMax points. A target that does not answer in time
// is left out of that round's point; its next answer is compared with the
// last one it gave, so nothing it said before is passed off as fresh. At
// most one scrape per target is in flight: a slow target is not asked again
// until it has answered or timed out.
import { Agent } from 'node:http';
import { parseHostPort } from '@bulwark/config';
import { CancelledError, InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { integerOption } from './integer-option';
import {
  pointOf,
  readingOf,
  sampledMetricNames,
  type SeriesPoint,
  type SeriesRole,
  type TargetInterval,
  type TargetReading,
  type MemberLagReading,
} from './series-math';
import { parseMetricsText } from './series-metrics-text';
import { scrapeMetricsText } from './series-scrape';

export type { MemberLagReading, SeriesPoint, SeriesRole } from './series-math';

export interface SeriesTarget {
  readonly memberId: string;
  readonly role: SeriesRole;
  /** host:port of the member's metrics endpoint. */
  readonly metricsAddress: string;
}

export interface SeriesSamplerOptions {
  /** Between rounds; default 2,000. */
  readonly intervalMs?: number;
  /** Points kept, the oldest dropped first; default 300 (10 minutes at 2 s). */
  readonly pointsMax?: number;
  /** Longest a scrape may take; default 1,500, under the interval. */
  readonly scrapeTimeoutMs?: number;
  /** Largest metrics text read; default 4 MiB. */
  readonly scrapeBytesMax?: number;
  /** Wall clock for the points' times; default Date.now. */
  readonly nowUnixMs?: () => number;
  /** Monotonic clock for the intervals rates are taken over; default performance.now. */
  readonly nowMonoMs?: () => number;
  /** Where failed scrapes (debug) and throwing listeners (error) are reported. */
  readonly logger?: Logger;
}

export const seriesDefaults = Object.freeze({
  intervalMs: 2_000,
  pointsMax: 300,
  scrapeTimeoutMs: 1_500,
  scrapeBytesMax: 4 * 1024 * 1024,
});
/** Targets at once: every router, lock service and replica of the fleet. */
export const seriesTargetsMax = 4_096;
/** Points kept at most, whatever pointsMax asks: a day at 2 s. */
export const seriesPointsMaxLimit = 43_200;
/** Largest scrapeBytesMax taken: a text this long is held in memory while parsed. */
export const scrapeBytesMaxLimit = 64 * 1024 * 1024;
/** Longest interval or timeout taken: anything longer is a mistake, not a setting. */
const hourMs = 3_600_000;
/** onPoint listeners at once. */
export const seriesListenersMax = 64;

const roles: readonly SeriesRole[] = ['router', 'lock', 'replica'];

interface TargetState {
  readonly target: SeriesTarget;
  /** The target's last answer: the next one is compared with it. */
  last: TargetReading | undefined;
  scraping: boolean;
}

function validTargets(targets: readonly SeriesTarget[]): SeriesTarget[] {
  if (targets.length > seriesTargetsMax) {
    throw new InvalidArgumentError(
      'targets',
      `lists ${targets.length} targets, more than seriesTargetsMax ${seriesTargetsMax}`,
    );
  }
  const seen = new Set<string>();
  targets.forEach((target, index) => {
    if (seen.has(target.memberId))
      throw new InvalidArgumentError(`targets[${index}].memberId`, `repeats ${target.memberId}`);
    seen.add(target.memberId);
    if (!roles.includes(target.role))
      throw new InvalidArgumentError(`targets[${index}].role`, `must be one of ${roles.join(', ')}`);
    const parsed = parseHostPort(target.metricsAddress);
    if (typeof parsed === 'string') throw new InvalidArgumentError(`targets[${index}].metricsAddress`, parsed);
  });
  return [...targets];
}

export class SeriesSampler {
  private readonly intervalMs: number;
  private readonly pointsMax: number;
  private readonly limits: { readonly timeoutMs: number; readonly bytesMax: number };
  private readonly nowUnixMs: () => number;
  private readonly nowMonoMs: () => number;
  private targets = new Map<string, TargetState>();
  private readonly history: SeriesPoint[] = [];
  private readonly listeners = new Set<(point: SeriesPoint) => void>();
  /** Its own connections: stop() can end them without touching anyone else's. */
  private readonly agent = new Agent({ keepAlive: false });
  private readonly stopping = new AbortController();
  private readonly roundsInFlight = new Set<Promise<SeriesPoint | undefined>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SeriesSamplerOptions = {}) {
    this.intervalMs = integerOption('intervalMs', options.intervalMs, seriesDefaults.intervalMs, 1, hourMs);
    this.pointsMax = integerOption('pointsMax', options.pointsMax, seriesDefaults.pointsMax, 1, seriesPointsMaxLimit);
    this.limits = {
      timeoutMs: integerOption('scrapeTimeoutMs', options.scrapeTimeoutMs, seriesDefaults.scrapeTimeoutMs, 1, hourMs),
      bytesMax: integerOption(
        'scrapeBytesMax',
        options.scrapeBytesMax,
        seriesDefaults.scrapeBytesMax,
        1,
        scrapeBytesMaxLimit,
      ),
    };
    this.nowUnixMs = options.nowUnixMs ?? Date.now;
    this.nowMonoMs = options.nowMonoMs ?? (() => performance.now());
  }

  /**
   * Replaces the targets. A target that stays at the same address in the
   * same role keeps its last reading; one that moved starts afresh (a new
   * address is a new process, whose counters are not the old one's).
   */
  setTargets(targets: readonly SeriesTarget[]): void {
    const next = new Map<string, TargetState>();
    for (const target of validTargets(targets)) {
      const kept = this.targets.get(target.memberId);
      const same = kept?.target.role === target.role && kept.target.metricsAddress === target.metricsAddress;
      next.set(target.memberId, kept && same ? kept : { target, last: undefined, scraping: false });
    }
    this.targets = next;
  }

  /** Samples a round now and then every intervalMs, until stop(). */
  start(): void {
    if (this.stopping.signal.aborted || this.timer) return;
    this.timer = setInterval(() => void this.round(), this.intervalMs);
    void this.round();
  }

  /** Stops the rounds, abandons the scrapes in flight and closes the connections; no point is added after. */
  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.roundsInFlight);
    this.agent.destroy();
  }

  /** One round now: scrapes every target not still answering the last one; rejects with CancelledError once stopped. */
  async sampleOnce(): Promise<SeriesPoint> {
    const point = await this.round();
    if (!point) throw new CancelledError('the series sampler is stopped');
    return point;
  }

  /** Each backup's replication lag from its primary's latest answer (a primary's reading is kept until it answers again). */
  lagByMember(): Map<string, MemberLagReading> {
    const lag = new Map<string, MemberLagReading>();
    for (const state of this.targets.values()) {
      for (const [memberId, reading] of state.last?.lagByMember ?? []) lag.set(memberId, reading);
    }
    return lag;
  }

  /** The points kept, oldest first. */
  points(): SeriesPoint[] {
    return [...this.history];
  }

  /** Calls listener with every new point; returns the unsubscribe function. */
  onPoint(listener: (point: SeriesPoint) => void): () => void {
    if (this.listeners.size >= seriesListenersMax) {
      throw new ResourceExhaustedError('seriesListenersMax', `${seriesListenersMax} listeners are subscribed already`, {
        retryable: false,
      });
    }
    const subscribed = (point: SeriesPoint) => listener(point);
    this.listeners.add(subscribed);
    return () => this.listeners.delete(subscribed);
  }

  /** A round's point, or undefined when the sampler stopped before it was made. Never rejects. */
  private round(): Promise<SeriesPoint | undefined> {
    const round = this.sampleRound();
    this.roundsInFlight.add(round);
    return round.finally(() => this.roundsInFlight.delete(round));
  }

  private async sampleRound(): Promise<SeriesPoint | undefined> {
    if (this.stopping.signal.aborted) return undefined;
    const atUnixMs = this.nowUnixMs();
    const due = [...this.targets.values()].filter((state) => !state.scraping);
    const intervals = await Promise.all(due.map((state) => this.scrape(state)));
    if (this.stopping.signal.aborted) return undefined;
    const point = pointOf(
      atUnixMs,
      intervals.filter((interval): interval is TargetInterval => interval !== undefined),
    );
    this.history.push(point);
    if (this.history.length > this.pointsMax) this.history.shift();
    for (const listener of [...this.listeners]) {
      try {
        listener(point);
      } catch (error) {
        this.options.logger?.error({ err: error }, 'series point listener failed');
      }
    }
    return point;
  }

  /** The target's interval for this round; undefined when it did not answer or left the targets meanwhile. */
  private async scrape(state: TargetState): Promise<TargetInterval | undefined> {
    const { memberId, role, metricsAddress } = state.target;
    state.scraping = true;
    const atMonoMs = this.nowMonoMs();
    try {
      const text = await scrapeMetricsText(metricsAddress, this.limits, {
        agent: this.agent,
        signal: this.stopping.signal,
      });
      const current = readingOf(parseMetricsText(text, sampledMetricNames), role, atMonoMs);
      if (this.targets.get(memberId) !== state) return undefined;
      const previous = state.last;
      state.last = current;
      return { role, previous, current };
    } catch (error) {
      this.options.logger?.debug({ err: error, memberId, metricsAddress }, 'metrics scrape failed');
      return undefined;
    } finally {
      state.scraping = false;
    }
  }
}

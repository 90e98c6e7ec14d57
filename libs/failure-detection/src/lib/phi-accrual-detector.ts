import { InvalidArgumentError } from '@bulwark/errors';
import { IntervalWindow } from './interval-window';
import { phiAfter } from './phi';
import { resolveSettings, type PhiAccrualSettings } from './settings';

/** What the detector believes about a member. */
export type MemberState = 'UP' | 'SUSPECT' | 'DOWN';

/** The interval statistics phi is computed from, as used (pause added, deviation floored). */
export interface IntervalStatistics {
  /** Measured mean interval plus acceptableHeartbeatPauseMs. */
  readonly meanMs: number;
  /** Measured standard deviation, at least minStdDeviationMs. */
  readonly stdDeviationMs: number;
  /** Intervals in the window, at most sampleWindowSize (the first heartbeat seeds two). */
  readonly samples: number;
}

/**
 * Phi-accrual failure detector for one member, as in Akka and Cassandra, with
 * three states and hysteresis:
 * - UP -> SUSPECT when phi reaches suspectPhi, UP or SUSPECT -> DOWN when phi
 *   reaches downPhi, whether seen by evaluate() or by the next heartbeat's
 *   arrival (phi only grows between heartbeats, so the state never depends on
 *   how often someone asks);
 * - back to UP only on a heartbeat that arrives while phi < recoverPhi, so a
 *   member must be on time again, not merely alive: the first heartbeat after
 *   a long pause leaves a DOWN member DOWN.
 *
 * Time is passed in (milliseconds on any monotonic clock) and must never go
 * backwards; the detector reads no clock.
 */
export class PhiAccrualFailureDetector {
  readonly settings: PhiAccrualSettings;
  private readonly intervals: IntervalWindow;
  private lastHeartbeatMs: number | null = null;
  private latestMs = -Infinity;
  private current: MemberState = 'UP';

  /** Throws InvalidArgumentError naming the first bad setting. */
  constructor(settings: Partial<PhiAccrualSettings> = {}) {
    this.settings = resolveSettings(settings);
    this.intervals = new IntervalWindow(this.settings.sampleWindowSize);
  }

  /** The state as of the last heartbeat or evaluation. */
  get state(): MemberState {
    return this.current;
  }

  /** The statistics phi uses now. */
  get statistics(): IntervalStatistics {
    return {
      meanMs: this.intervals.meanMs + this.settings.acceptableHeartbeatPauseMs,
      stdDeviationMs: Math.max(this.intervals.stdDeviationMs, this.settings.minStdDeviationMs),
      samples: this.intervals.size,
    };
  }

  /** Suspicion level at nowMs; 0 before the first heartbeat (nothing to judge yet, as in Akka). */
  phi(nowMs: number): number {
    this.advanceTo(nowMs);
    return this.phiAt(nowMs);
  }

  /** Applies the entering thresholds at nowMs and returns the state. */
  evaluate(nowMs: number): MemberState {
    this.advanceTo(nowMs);
    this.enter(this.phiAt(nowMs));
    return this.current;
  }

  /** Records a heartbeat received at nowMs and returns the state after it. */
  heartbeat(nowMs: number): MemberState {
    this.advanceTo(nowMs);
    if (this.lastHeartbeatMs === null) {
      this.seedWindow();
    } else {
      const arrivalPhi = this.phiAt(nowMs);
      this.enter(arrivalPhi);
      // As Akka: a gap long enough to declare the member DOWN is an outage,
      // not a sample of its rhythm; learning it would teach the detector to
      // tolerate outages.
      if (arrivalPhi < this.settings.downPhi) this.intervals.add(nowMs - this.lastHeartbeatMs);
      if (arrivalPhi < this.settings.recoverPhi) this.current = 'UP';
    }
    this.lastHeartbeatMs = nowMs;
    return this.current;
  }

  /**
   * The observer itself was paused (a GC, a starved process) for pausedMs
   * before nowMs: that time is not the member's silence. Moves the last
   * heartbeat forward by it (never past nowMs), as Cassandra ignores a
   * round after a local pause; heartbeats read late after the pause are then
   * judged on time.
   */
  forgive(nowMs: number, pausedMs: number): void {
    this.advanceTo(nowMs);
    if (!Number.isFinite(pausedMs) || pausedMs < 0) {
      throw new InvalidArgumentError('pausedMs', `must be a finite number >= 0, got ${pausedMs}`);
    }
    if (this.lastHeartbeatMs !== null) this.lastHeartbeatMs = Math.min(nowMs, this.lastHeartbeatMs + pausedMs);
  }

  private phiAt(nowMs: number): number {
    if (this.lastHeartbeatMs === null) return 0;
    const { meanMs, stdDeviationMs } = this.statistics;
    return phiAfter(nowMs - this.lastHeartbeatMs, meanMs, stdDeviationMs);
  }

  private enter(phi: number): void {
    if (phi >= this.settings.downPhi) this.current = 'DOWN';
    else if (phi >= this.settings.suspectPhi && this.current === 'UP') this.current = 'SUSPECT';
  }

  /** Akka's first-heartbeat estimate: two intervals at mean -/+ a quarter of it. */
  private seedWindow(): void {
    const estimateMs = this.settings.firstHeartbeatEstimateMs;
    this.intervals.add(estimateMs - estimateMs / 4);
    this.intervals.add(estimateMs + estimateMs / 4);
  }

  private advanceTo(nowMs: number): void {
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError('nowMs', `must be a finite number, got ${nowMs}`);
    if (nowMs < this.latestMs) {
      throw new InvalidArgumentError('nowMs', `went backwards: ${nowMs} after ${this.latestMs}`);
    }
    this.latestMs = nowMs;
  }
}

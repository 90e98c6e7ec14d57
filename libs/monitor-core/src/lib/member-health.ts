// One watched member's health: the phi-accrual detector judges silence (a
// paused process, a dropped network), and a refusal is taken at its word (a
// probe that finds nothing listening at the member's address, or an answer
// NOT_SERVING: a crashed, restarting or draining member). Either makes the
// member DOWN; a heartbeat lets the detector judge it again.
//
// Besides the state, it dates each outage, so the detection delay is not
// counted as up time nor the probe interval as down time:
// - it starts at the last heartbeat before the verdict (the last moment the
//   member was known alive) or, when a refusal brought the verdict, halfway
//   between that heartbeat and the first refusal: the member failed in
//   between, and the midpoint is off by at most half a probe interval;
// - it ends at the first heartbeat after it (serving again, whatever the
//   detector still needs to believe it) or halfway back to the last refusal
//   before that heartbeat, by the same reasoning.
import { PhiAccrualFailureDetector, type MemberState, type PhiAccrualSettings } from '@bulwark/failure-detection';

/** A moment on both clocks: monotonic for the detector, wall for what is reported and kept. */
export interface Instant {
  readonly monoMs: number;
  readonly unixMs: number;
}

/** A change of state, with the outage bounds an availability ledger needs. */
export interface HealthChange {
  readonly from: MemberState;
  readonly to: MemberState;
  /** Set when the member went DOWN: the last moment it was known alive. */
  readonly outageStartUnixMs?: number;
  /** Set when the member left DOWN: the first moment it answered again. */
  readonly outageEndUnixMs?: number;
}

export class MemberHealth {
  private readonly detector: PhiAccrualFailureDetector;
  private current: MemberState = 'UP';
  private sinceUnixMs: number;
  private lastHeartbeat: Instant | null = null;
  /** Set from a refusal until the next heartbeat. */
  private refused = false;
  /** The first refusal since the last heartbeat, and the latest one (wall clock). */
  private firstRefusalUnixMs: number | null = null;
  private lastRefusalUnixMs: number | null = null;
  /** The first heartbeat after the member went DOWN: where its outage ends. */
  private backAtUnixMs: number | null = null;
  /** Where a DOWN verdict before any heartbeat dates the outage from: when watching began. */
  private readonly watchedSinceUnixMs: number;

  /**
   * Watching starts counted as a heartbeat (as Akka's first-heartbeat
   * estimate assumes one is due), so a member that never answers goes DOWN
   * after the detector's usual silence instead of staying UP for ever.
   */
  constructor(at: Instant, settings: Partial<PhiAccrualSettings> = {}) {
    this.detector = new PhiAccrualFailureDetector(settings);
    this.detector.heartbeat(at.monoMs);
    this.sinceUnixMs = at.unixMs;
    this.watchedSinceUnixMs = at.unixMs;
  }

  get state(): MemberState {
    return this.current;
  }

  /** When the member entered its state (wall clock). */
  get stateSinceUnixMs(): number {
    return this.sinceUnixMs;
  }

  /** The last successful probe's answer (wall clock), or null before the first. */
  get lastHeartbeatUnixMs(): number | null {
    return this.lastHeartbeat?.unixMs ?? null;
  }

  phi(monoMs: number): number {
    return this.detector.phi(monoMs);
  }

  /** A probe answered SERVING. */
  heartbeat(at: Instant): HealthChange | undefined {
    this.refused = false;
    if (this.current === 'DOWN') this.backAtUnixMs ??= midpoint(this.lastRefusalUnixMs, at.unixMs);
    this.lastHeartbeat = at;
    this.firstRefusalUnixMs = null;
    this.lastRefusalUnixMs = null;
    return this.judge(this.detector.heartbeat(at.monoMs), at);
  }

  /** A probe was refused: nothing listens at the address, or the member answered NOT_SERVING. */
  refuse(at: Instant): HealthChange | undefined {
    this.refused = true;
    // Back for one answer, then gone again: the outage goes on.
    this.backAtUnixMs = null;
    this.firstRefusalUnixMs ??= at.unixMs;
    this.lastRefusalUnixMs = at.unixMs;
    return this.judge(this.detector.evaluate(at.monoMs), at);
  }

  /** The monitor itself was paused for pausedMs before `at`: not the member's silence (see PhiAccrualFailureDetector.forgive). */
  forgive(at: Instant, pausedMs: number): void {
    this.detector.forgive(at.monoMs, pausedMs);
  }

  /** Looks at the silence since the last heartbeat (called on every tick). */
  evaluate(at: Instant): HealthChange | undefined {
    const detected = this.detector.evaluate(at.monoMs);
    // Back for one answer, then silent again for as long as makes a member DOWN: the outage goes on.
    if (this.backAtUnixMs !== null && this.detector.phi(at.monoMs) >= this.detector.settings.downPhi) {
      this.backAtUnixMs = null;
    }
    return this.judge(detected, at);
  }

  private judge(detected: MemberState, at: Instant): HealthChange | undefined {
    const from = this.current;
    const to = this.refused ? 'DOWN' : detected;
    if (to === from) return undefined;
    this.current = to;
    this.sinceUnixMs = at.unixMs;
    if (to === 'DOWN') {
      this.backAtUnixMs = null;
      const knownAliveUnixMs = this.lastHeartbeat?.unixMs ?? this.watchedSinceUnixMs;
      const outageStartUnixMs = this.refused ? midpoint(knownAliveUnixMs, this.firstRefusalUnixMs) : knownAliveUnixMs;
      return { from, to, outageStartUnixMs };
    }
    if (from === 'DOWN') {
      const outageEndUnixMs = this.backAtUnixMs ?? at.unixMs;
      this.backAtUnixMs = null;
      return { from, to, outageEndUnixMs };
    }
    return { from, to };
  }
}

/** Halfway from `from` to `to`; `to` alone without a `from`, `from` alone without a `to`. */
function midpoint(from: number | null, to: number): number;
function midpoint(from: number, to: number | null): number;
function midpoint(from: number | null, to: number | null): number {
  if (from === null) return to as number;
  if (to === null) return from;
  return from + (to - from) / 2;
}

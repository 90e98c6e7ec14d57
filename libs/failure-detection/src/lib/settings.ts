import { InvalidArgumentError } from '@bulwark/errors';

/**
 * How a PhiAccrualFailureDetector judges one member. The defaults are tuned
 * for a member heartbeating every 100 ms (the monitor's health polling); the
 * README derives the detection times they imply.
 */
export interface PhiAccrualSettings {
  /** Intervals remembered for the mean and standard deviation, 2 to sampleWindowSizeMax. */
  readonly sampleWindowSize: number;
  /** Floor under the measured standard deviation, so very regular heartbeats do not make phi explode at the first late one. */
  readonly minStdDeviationMs: number;
  /** Added to the mean interval: a pause this long (a GC, a busy event loop) costs no suspicion. */
  readonly acceptableHeartbeatPauseMs: number;
  /** Interval assumed before any has been measured; it seeds the window as Akka does (mean +/- a quarter). */
  readonly firstHeartbeatEstimateMs: number;
  /** Phi at or above which an UP member becomes SUSPECT. */
  readonly suspectPhi: number;
  /** Phi at or above which a member becomes DOWN. */
  readonly downPhi: number;
  /**
   * A SUSPECT or DOWN member is UP again only after a heartbeat that arrives
   * while phi is still below this: lower than suspectPhi, so a member whose
   * heartbeats keep arriving near the suspicion threshold stays SUSPECT
   * instead of flapping.
   */
  readonly recoverPhi: number;
}

/** Bounds the window's memory: 8 bytes an interval. */
export const sampleWindowSizeMax = 10_000;
/** Longest duration setting accepted: one hour, far beyond any sane heartbeat interval or pause. */
export const durationMsMax = 3_600_000;

export const defaultPhiAccrualSettings: PhiAccrualSettings = Object.freeze({
  sampleWindowSize: 200,
  minStdDeviationMs: 100,
  acceptableHeartbeatPauseMs: 300,
  firstHeartbeatEstimateMs: 100,
  suspectPhi: 3,
  downPhi: 8,
  recoverPhi: 1,
});

/** Largest phi threshold accepted: phi is -log10 of a probability held in a double, which underflows near 10^-308. */
export const phiThresholdMax = 300;

type Bound = { readonly value: number; readonly inclusive: boolean; readonly name?: string };

function requireBetween(setting: keyof PhiAccrualSettings, value: number, low: Bound, high: Bound): void {
  const aboveLow = low.inclusive ? value >= low.value : value > low.value;
  const belowHigh = high.inclusive ? value <= high.value : value < high.value;
  if (Number.isFinite(value) && aboveLow && belowHigh) return;
  const describe = (bound: Bound) => (bound.name ? `${bound.name} (${bound.value})` : `${bound.value}`);
  throw new InvalidArgumentError(
    setting,
    `must be ${low.inclusive ? 'at least' : 'above'} ${describe(low)} and ${high.inclusive ? 'at most' : 'below'} ${describe(high)}, got ${value}`,
  );
}

const atLeast = (value: number): Bound => ({ value, inclusive: true });
const above = (value: number): Bound => ({ value, inclusive: false });
const atMost = (value: number): Bound => ({ value, inclusive: true });
const below = (name: string, value: number): Bound => ({ name, value, inclusive: false });

/** Fills in defaults and checks every setting; throws InvalidArgumentError naming the first bad one. */
export function resolveSettings(overrides: Partial<PhiAccrualSettings>): PhiAccrualSettings {
  const settings = { ...defaultPhiAccrualSettings, ...overrides };
  if (!Number.isInteger(settings.sampleWindowSize)) {
    throw new InvalidArgumentError('sampleWindowSize', `must be an integer, got ${settings.sampleWindowSize}`);
  }
  requireBetween('sampleWindowSize', settings.sampleWindowSize, atLeast(2), atMost(sampleWindowSizeMax));
  requireBetween('minStdDeviationMs', settings.minStdDeviationMs, above(0), atMost(durationMsMax));
  requireBetween('acceptableHeartbeatPauseMs', settings.acceptableHeartbeatPauseMs, atLeast(0), atMost(durationMsMax));
  requireBetween('firstHeartbeatEstimateMs', settings.firstHeartbeatEstimateMs, above(0), atMost(durationMsMax));
  requireBetween('downPhi', settings.downPhi, above(0), atMost(phiThresholdMax));
  requireBetween('suspectPhi', settings.suspectPhi, above(0), below('downPhi', settings.downPhi));
  requireBetween('recoverPhi', settings.recoverPhi, above(0), below('suspectPhi', settings.suspectPhi));
  return Object.freeze(settings);
}

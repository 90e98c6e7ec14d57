import { InvalidArgumentError } from '@bulwark/errors';
import { compareNumbers } from './compare';

// When operations were invoked and completed. An in-process clock gives
// numbers; a history file may hold times that no number holds exactly
// (nanoseconds since the epoch are above 2^53, and 1733450000.123456789
// seconds needs 19 significant digits), so those are read as a bigint or a
// DecimalTime. Times are only ever compared exactly: rounding can make two
// times equal, and a verdict on rounded times can call a violation
// linearizable.

/**
 * Digits a time may have written out in plain decimal, integer and fraction
 * digits together (1e400 has 401, 0.001 has 3). Nanoseconds since the epoch
 * need 19, as do seconds with 9 fraction digits; the bound keeps the exact
 * arithmetic on times small.
 */
export const timeDigitsMax = 40;

const unitsBound = 10n ** BigInt(timeDigitsMax);

/** An exact decimal time: units / 10^scale, so 1733450000.123456789 is units 1733450000123456789n, scale 9. */
export class DecimalTime {
  constructor(
    readonly units: bigint,
    readonly scale: number,
  ) {
    if (!Number.isSafeInteger(scale) || scale < 0 || scale > timeDigitsMax) {
      throw new InvalidArgumentError('scale', `must be an integer from 0 to ${timeDigitsMax}, got ${scale}`);
    }
    if (units >= unitsBound || units <= -unitsBound) {
      throw new InvalidArgumentError('units', `must have at most ${timeDigitsMax} digits, got ${units}`);
    }
  }

  /** As a JSON number, e.g. 1733450000.123456789 or -0.05. */
  toString(): string {
    const digits = (this.units < 0n ? -this.units : this.units).toString().padStart(this.scale + 1, '0');
    const split = digits.length - this.scale;
    const fraction = this.scale === 0 ? '' : `.${digits.slice(split)}`;
    return `${this.units < 0n ? '-' : ''}${digits.slice(0, split)}${fraction}`;
  }
}

/** number: from an in-process clock or a file; bigint and DecimalTime: read exactly from a file (or given so). */
export type HistoryTime = number | bigint | DecimalTime;

/** A time's exact value as units / 10^scale; a number's binary fraction needs at most 1,074 decimal places. */
export interface ScaledTime {
  readonly units: bigint;
  readonly scale: number;
}

/** The exact value of a time. */
export function scaledTime(time: HistoryTime): ScaledTime {
  if (time instanceof DecimalTime) return time;
  if (typeof time === 'bigint') return { units: time, scale: 0 };
  if (!Number.isFinite(time)) throw new InvalidArgumentError('time', `must be finite, got ${time}`);
  let mantissa = time;
  let scale = 0;
  // Doubling a finite double is exact (only its exponent changes); a double
  // has at most 1,074 binary places, so this ends. Then m / 2^k = m·5^k / 10^k.
  while (!Number.isInteger(mantissa)) {
    mantissa *= 2;
    scale += 1;
  }
  return { units: BigInt(mantissa) * 5n ** BigInt(scale), scale };
}

/** The time's units at a scale at least its own: equal times get equal units. */
export function unitsAtScale(time: ScaledTime, scale: number): bigint {
  return time.units * 10n ** BigInt(scale - time.scale);
}

/** Ascending time order, exact across kinds. */
export function compareTimes(a: HistoryTime, b: HistoryTime): number {
  if (!(a instanceof DecimalTime) && !(b instanceof DecimalTime)) return compareNumbers(a, b);
  const [x, y] = [scaledTime(a), scaledTime(b)];
  const scale = Math.max(x.scale, y.scale);
  return compareNumbers(unitsAtScale(x, scale), unitsAtScale(y, scale));
}

/** The time as a JSON number literal, exactly. */
export function timeText(time: HistoryTime): string {
  return typeof time === 'number' ? JSON.stringify(time) : String(time);
}

/** Whether a value is a valid time: a finite number, a DecimalTime, or a bigint of at most timeDigitsMax digits. */
export function isTime(value: unknown): value is HistoryTime {
  if (typeof value === 'bigint') return value < unitsBound && value > -unitsBound;
  return typeof value === 'number' ? Number.isFinite(value) : value instanceof DecimalTime;
}

import { DecimalTime, timeDigitsMax, type HistoryTime } from './time';

/** Integers of at most 15 digits, which a number holds exactly: most histories, read without a bigint. */
const shortInteger = /^-?\d{1,15}$/;
/** A JSON number literal: sign, integer digits, fraction digits, exponent. */
const numberLiteral = /^(-?)(0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

const safeIntegerMax = BigInt(Number.MAX_SAFE_INTEGER);

export type TimeLiteralReading = { readonly time: HistoryTime } | { readonly problem: string };

/**
 * Reads a JSON number literal as an exact time, never through a double:
 * integers become numbers when a number holds them exactly (at most 2^53 - 1
 * in size) and bigints beyond; anything with a fraction becomes a
 * DecimalTime. Exponents are applied exactly (1.5e3 is 1500). A literal with
 * more than timeDigitsMax digits written out is a problem, not a rounding.
 */
export function readTimeLiteral(literal: string): TimeLiteralReading {
  if (shortInteger.test(literal)) return { time: Number(literal) || 0 }; // -0 is 0
  const parts = numberLiteral.exec(literal);
  if (parts === null) return { problem: `must be a JSON number, got ${literal}` };
  const [, sign, integerDigits = '', fractionDigits = '', exponent = '0'] = parts;
  const significant = `${integerDigits}${fractionDigits}`.replace(/^0+/, '');
  const digits = significant.replace(/0+$/, '');
  if (digits === '') return { time: 0 };
  // The value is digits × 10^power, digits without leading or trailing zeros.
  // Number(exponent) may be huge or Infinity; then so is the count below.
  const power = Number(exponent) - fractionDigits.length + (significant.length - digits.length);
  const writtenOut = power >= 0 ? digits.length + power : Math.max(digits.length, -power);
  if (!(writtenOut <= timeDigitsMax)) {
    return {
      problem: `must have at most ${timeDigitsMax} digits written out to be compared exactly, got ${literal} (${writtenOut} digits)`,
    };
  }
  const units = BigInt(`${sign}${digits}`);
  if (power < 0) return { time: new DecimalTime(units, -power) };
  const integer = units * 10n ** BigInt(power);
  return { time: integer <= safeIntegerMax && integer >= -safeIntegerMax ? Number(integer) : integer };
}

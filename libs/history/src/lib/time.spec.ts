import { InvalidArgumentError } from '@bulwark/errors';
import { compareTimes, DecimalTime, isTime, scaledTime, timeText, type HistoryTime } from './time';

describe('times', () => {
  it('compares exactly across kinds where doubles would round', () => {
    const above = 2n ** 53n + 1n;
    // As doubles, 2^53 + 1 is 2^53, and these two decimals are one double.
    expect(Number(above)).toBe(2 ** 53);
    expect(Number('1733450000.123456779')).toBe(Number('1733450000.12345678'));
    const ascending: HistoryTime[] = [
      -1.5,
      new DecimalTime(-1n, 1),
      0,
      0.1, // the double is 0.1000000000000000055511151231257827…
      new DecimalTime(1000000000000000056n, 19),
      2 ** 53,
      above,
      new DecimalTime(above * 10n + 1n, 1),
    ];
    ascending.forEach((earlier, index) => {
      ascending.slice(index + 1).forEach((later) => {
        expect([compareTimes(earlier, later), compareTimes(later, earlier)]).toEqual([-1, 1]);
      });
    });
    expect(compareTimes(new DecimalTime(1733450000123456779n, 9), new DecimalTime(173345000012345678n, 8))).toBe(-1);
    expect(compareTimes(new DecimalTime(15n, 1), new DecimalTime(1500n, 3))).toBe(0);
    expect(compareTimes(new DecimalTime(15n, 1), 1.5)).toBe(0);
    expect(compareTimes(2n ** 60n, 2 ** 60)).toBe(0);
  });

  it('gives the exact value of every kind as units / 10^scale', () => {
    expect(scaledTime(0.375)).toEqual({ units: 375n, scale: 3 });
    expect(scaledTime(-2)).toEqual({ units: -2n, scale: 0 });
    expect(scaledTime(2n ** 70n)).toEqual({ units: 2n ** 70n, scale: 0 });
    expect(scaledTime(Number.MIN_VALUE).scale).toBe(1074);
    expect(() => scaledTime(Infinity)).toThrow(new InvalidArgumentError('time', 'must be finite, got Infinity'));
  });

  it('writes every kind as an exact JSON number', () => {
    expect(timeText(12)).toBe('12');
    expect(timeText(2n ** 64n)).toBe('18446744073709551616');
    expect(timeText(new DecimalTime(1733450000123456789n, 9))).toBe('1733450000.123456789');
    expect(timeText(new DecimalTime(-5n, 2))).toBe('-0.05');
    expect(timeText(new DecimalTime(7n, 0))).toBe('7');
  });

  it('accepts finite numbers, DecimalTimes and bigints of at most 40 digits as times, and nothing else', () => {
    [0, -3.5, 10n ** 40n - 1n, -(10n ** 40n) + 1n, new DecimalTime(1n, 40)].forEach((time) =>
      expect(isTime(time)).toBe(true),
    );
    [Infinity, NaN, 10n ** 40n, '1', null, { units: 1n, scale: 0 }].forEach((time) => expect(isTime(time)).toBe(false));
    expect(() => new DecimalTime(1n, 41)).toThrow(
      new InvalidArgumentError('scale', 'must be an integer from 0 to 40, got 41'),
    );
    expect(() => new DecimalTime(10n ** 40n, 1)).toThrow(
      new InvalidArgumentError('units', `must have at most 40 digits, got 1${'0'.repeat(40)}`),
    );
  });
});

import { DecimalTime, type HistoryTime } from './time';
import { readTimeLiteral } from './time-literal';

describe('readTimeLiteral', () => {
  it.each<[string, HistoryTime]>([
    ['10', 10],
    ['-7', -7],
    ['-0', 0],
    ['10.000', 10],
    ['1.5e3', 1500],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['9007199254740993', 2n ** 53n + 1n],
    ['1733450000123456789', 1733450000123456789n],
    ['-1733450000123456789', -1733450000123456789n],
    ['1E+21', 10n ** 21n],
    ['1.5', new DecimalTime(15n, 1)],
    ['1733450000.123456789', new DecimalTime(1733450000123456789n, 9)],
    ['1733450000.12345678000', new DecimalTime(173345000012345678n, 8)],
    ['17334500001234.56789e-4', new DecimalTime(1733450000123456789n, 9)],
    ['-0.05', new DecimalTime(-5n, 2)],
    ['0.0000000000000000000000000000000000000001', new DecimalTime(1n, 40)],
    [`${'9'.repeat(40)}`, 10n ** 40n - 1n],
  ])('reads %s exactly', (literal, time) => {
    expect(readTimeLiteral(literal)).toEqual({ time });
  });

  it.each<[string, string]>([
    ['1e400', 'must have at most 40 digits written out to be compared exactly, got 1e400 (401 digits)'],
    ['1e-41', 'must have at most 40 digits written out to be compared exactly, got 1e-41 (41 digits)'],
    [
      `1${'0'.repeat(40)}`,
      `must have at most 40 digits written out to be compared exactly, got 1${'0'.repeat(40)} (41 digits)`,
    ],
    [
      '1.5e99999999999999999999',
      'must have at most 40 digits written out to be compared exactly, got 1.5e99999999999999999999 (100000000000000000000 digits)',
    ],
    ['0x10', 'must be a JSON number, got 0x10'],
  ])('refuses %s rather than round it', (literal, problem) => {
    expect(readTimeLiteral(literal)).toEqual({ problem });
  });
});

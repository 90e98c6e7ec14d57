import {
  parseBoundedDurationMs,
  parseCount,
  parseDurationMs,
  parseEndpoint,
  parseEndpoints,
  parsePositiveDurationMs,
  parseUint64,
} from './arguments';

describe('command-line values', () => {
  it('reads endpoint lists, trimming, dropping empties and duplicates, refusing what is not host:port', () => {
    expect(parseEndpoints('localhost:7200, 127.0.0.1:7201,,localhost:7200')).toEqual([
      'localhost:7200',
      '127.0.0.1:7201',
    ]);
    expect(parseEndpoints('[::1]:7200')).toEqual(['[::1]:7200']);
    expect(() => parseEndpoints(' , ')).toThrow('must list at least one host:port');
    expect(() => parseEndpoints('localhost:7200,router-2')).toThrow('must be host:port, got "router-2"');
    expect(() => parseEndpoints('localhost:99999')).toThrow('port must be between 1 and 65535, got 99999');
    expect(parseEndpoint(' monitor:7400 ')).toBe('monitor:7400');
    expect(() => parseEndpoint('monitor')).toThrow('must be host:port, got "monitor"');
  });

  it('reads durations in ms or with a unit', () => {
    expect(parseDurationMs('1500')).toBe(1_500);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('30s')).toBe(30_000);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs('0')).toBe(0);
    expect(() => parseDurationMs('1.5s')).toThrow('must be a duration such as 1500, 500ms, 30s or 2m, got "1.5s"');
    expect(() => parseDurationMs('-1')).toThrow('must be a duration');
    expect(() => parseDurationMs('9'.repeat(20))).toThrow('is too long');
    expect(() => parsePositiveDurationMs('0s')).toThrow('must be above 0');
    expect(parsePositiveDurationMs('1h', 3_600_000)).toBe(3_600_000);
    expect(() => parsePositiveDurationMs('50d', 2 ** 32 - 1)).toThrow('must be a duration');
    expect(() => parseBoundedDurationMs('2h', 2 ** 32 - 1)).not.toThrow();
    expect(() => parseBoundedDurationMs('1200h', 2 ** 32 - 1)).toThrow('must be at most 4294967295 ms, got 1200h');
  });

  it('reads counts within their bound', () => {
    expect(parseCount('1000', 1000)).toBe(1000);
    expect(() => parseCount('0')).toThrow('must be from 1 to');
    expect(() => parseCount('1001', 1000)).toThrow('must be from 1 to 1000, got 1001');
    expect(() => parseCount('ten')).toThrow('must be a whole number, got "ten"');
  });

  it('reads 64-bit numbers exactly, as bigints', () => {
    expect(parseUint64('18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(parseUint64('9007199254740993')).toBe(9007199254740993n);
    expect(() => parseUint64('18446744073709551616')).toThrow('must be at most 2^64-1');
    expect(() => parseUint64('-3')).toThrow('must be a whole number, got "-3"');
  });
});

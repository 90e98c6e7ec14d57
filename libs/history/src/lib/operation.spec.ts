import { cas, del, failed, get, put } from '../testing/operations';
import { findProblem, type HistoryOperation } from './operation';
import { DecimalTime, type HistoryTime } from './time';

describe('findProblem', () => {
  it('accepts well-formed operations of every kind and outcome', () => {
    const valid = [
      put('a', [0, 1]),
      get('a', [0, 1]),
      get(null, [0, null]),
      cas(null, 'b', true, [0, 1]),
      cas('b', null, false, [0, 1]),
      del([0, 0]),
      failed(put('a', [0, 1])),
      { ...put('a', [0, 1]), invokedMs: 2n ** 64n, completedMs: new DecimalTime(2n ** 64n * 10n + 5n, 1) },
    ];
    valid.forEach((operation) => expect(findProblem(operation)).toBeNull());
  });

  it.each<[string, HistoryOperation<HistoryTime>, string, string]>([
    ['a non-string key', { ...put('a', [0, 1]), key: 7 as unknown as string }, 'key', 'must be a string, got 7'],
    [
      'an unknown op',
      { ...put('a', [0, 1]), op: 'incr' as 'put' },
      'op',
      'must be one of put, get, cas, del, got "incr"',
    ],
    [
      'an unknown outcome',
      { ...put('a', [0, 1]), outcome: 'maybe' as 'ok' },
      'outcome',
      'must be one of ok, fail, unknown, got "maybe"',
    ],
    [
      'an infinite invocation',
      put('a', [Infinity, 1]),
      'invokedMs',
      'must be a finite number, a bigint or a DecimalTime (at most 40 digits), got Infinity',
    ],
    [
      'a bigint invocation of more than 40 digits',
      { ...put('a', [0, null]), invokedMs: 10n ** 40n },
      'invokedMs',
      `must be a finite number, a bigint or a DecimalTime (at most 40 digits), got 1${'0'.repeat(40)}`,
    ],
    [
      'a completion before the invocation, in exact times',
      { ...put('a', [0, 1]), invokedMs: 2n ** 53n + 1n, completedMs: 2 ** 53 } as HistoryOperation<HistoryTime>,
      'completedMs',
      'must not be before the invocation (9007199254740993), got 9007199254740992',
    ],
    [
      'a completion before the invocation',
      put('a', [5, 4]),
      'completedMs',
      'must not be before the invocation (5), got 4',
    ],
    [
      'a completion for an unknown outcome',
      { ...put('a', [0, 1]), outcome: 'unknown' },
      'completedMs',
      'must be null when the outcome is unknown, got 1',
    ],
    [
      'no completion for a known outcome',
      { ...put('a', [0, null]), outcome: 'ok' },
      'completedMs',
      'must be a finite number, a bigint or a DecimalTime (at most 40 digits) when the outcome is ok, got null',
    ],
    ['a put without a value', { ...put('a', [0, 1]), value: null }, 'value', 'must be a string for a put, got null'],
    ['a get with a value', { ...get('a', [0, 1]), value: 'a' }, 'value', 'must be null for a get, got "a"'],
    ['a del with an expected value', { ...del([0, 1]), expect: 'a' }, 'expect', 'must be null for a del, got "a"'],
    [
      'a cas with a non-boolean result',
      cas('a', 'b', 'yes' as unknown as boolean, [0, 1]),
      'result',
      'must be true or false for a cas, got "yes"',
    ],
    [
      'a get with a boolean result',
      get(true as unknown as string, [0, 1]),
      'result',
      'must be a string or null for a get, got true',
    ],
    [
      'a result for an unknown outcome',
      { ...get('a', [0, null]) },
      'result',
      'must be null when the outcome is unknown, got "a"',
    ],
    ['a put with a result', { ...put('a', [0, 1]), result: 'a' }, 'result', 'must be null for a put, got "a"'],
  ])('names the field of %s', (_, operation, field, problem) => {
    expect(findProblem(operation)).toEqual({ field, problem });
  });
});

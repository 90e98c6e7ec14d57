import { InvalidArgumentError } from '@bulwark/errors';
import { cas, del, failed, get, put } from '../testing/operations';
import { checkLinearizability } from './checker/check-linearizability';
import { formatHistoryJsonLines, parseHistoryJsonLines, toHistoryJsonLine } from './json-lines';
import { DecimalTime } from './time';

function problem(text: string): string {
  try {
    parseHistoryJsonLines(text);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidArgumentError');
}

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({ key: 'k', op: 'get', value: null, expect: null, result: null, call: 1, return: 2, ...fields });

describe('history JSON lines', () => {
  it('parses one operation a line; return null means the outcome is unknown', () => {
    const text = [
      '{"key":"k","op":"cas","value":"b","expect":"a","result":true,"call":10,"return":12}',
      '',
      '{"key":"k","op":"put","value":"c","expect":null,"result":null,"call":11,"return":null,"client":"w1"}',
    ].join('\n');
    expect(parseHistoryJsonLines(text)).toEqual([
      { ...cas('a', 'b', true, [10, 12], 'k'), client: '' },
      { ...put('c', [11, null], 'k'), client: 'w1' },
    ]);
  });

  it('writes what it reads, leaving out failed operations and an empty client', () => {
    const history = [
      put('a', [0, 5]),
      get('a', [6, 7]),
      { ...del([8, null]), client: 'c9' },
      failed(put('z', [1, 2])),
    ].map((operation) => ({ ...operation, client: operation.client === 'c9' ? 'c9' : '' }));
    const text = formatHistoryJsonLines(history);
    expect(text.split('\n')).toHaveLength(4);
    expect(parseHistoryJsonLines(text)).toEqual(history.slice(0, 3));
    expect(toHistoryJsonLine(history[0] ?? put('', [0, 0]))).toBe(
      '{"key":"x","op":"put","value":"a","expect":null,"result":null,"call":0,"return":5}',
    );
  });

  it.each<[string, string]>([
    ['{"key":', 'line 2: not valid JSON'],
    ['[1,2]', 'line 2: must be a JSON object'],
    [
      line({ retrun: 3 }),
      'line 2 field "retrun": is not a field of a history line (key, op, value, expect, result, call, return, client)',
    ],
    [
      JSON.stringify({ key: 'k', op: 'get', value: null, result: null, call: 1, return: 2 }),
      'line 2 field "expect": is missing',
    ],
    [line({ call: '1' }), 'line 2 field "call": must be a number, got "1"'],
    [line({ return: 'soon' }), 'line 2 field "return": must be a number or null (outcome unknown), got "soon"'],
    [line({ return: 0 }), 'line 2 field "return": must not be before the invocation (1), got 0'],
    [line({ op: 'incr' }), 'line 2 field "op": must be one of put, get, cas, del, got "incr"'],
    [line({ key: 3 }), 'line 2 field "key": must be a string, got 3'],
    [line({ op: 'put', value: null }), 'line 2 field "value": must be a string for a put, got null'],
    [
      line({ op: 'cas', value: 'b', expect: 'a', result: 'yes' }),
      'line 2 field "result": must be true or false for a cas, got "yes"',
    ],
    [line({ result: 'a', return: null }), 'line 2 field "result": must be null when the outcome is unknown, got "a"'],
    [
      line({}).replace('"call":1', '"call":1e400'),
      'line 2 field "call": must have at most 40 digits written out to be compared exactly, got 1e400 (401 digits)',
    ],
    [
      line({}).replace('"return":2', `"return":2.${'0'.repeat(39)}1`),
      `line 2 field "return": must have at most 40 digits written out to be compared exactly, got 2.${'0'.repeat(39)}1 (41 digits)`,
    ],
    [
      line({}).replace('"call":1,"return":2', '"call":9007199254740993,"return":9007199254740992'),
      'line 2 field "return": must not be before the invocation (9007199254740993), got 9007199254740992',
    ],
  ])('names the line and field of %s', (bad, message) => {
    expect(problem(`${line({})}\n${bad}\n`)).toMatch(new RegExp(`^${message.replace(/[()[\]]/g, '\\$&')}`));
  });

  it('reads times from their source text, never through a double', () => {
    const text = [
      line({ call: 0, return: 0 }).replace('"call":0,"return":0', '"call":1733450000123456779,"return":1e21'),
      line({}).replace('"call":1,"return":2', '"call":1733450000.123456779,"return":17334500001.2345678e-1'),
      line({}).replace('"call":1,"return":2', '"call":1.5e3,"return":2500.50'),
    ].join('\n');
    expect(parseHistoryJsonLines(text).map(({ invokedMs, completedMs }) => [invokedMs, completedMs])).toEqual([
      [1733450000123456779n, 10n ** 21n],
      [new DecimalTime(1733450000123456779n, 9), new DecimalTime(173345000012345678n, 8)],
      [1500, new DecimalTime(25005n, 1)],
    ]);
  });

  it('writes exact times back digit for digit', () => {
    const text = [
      '{"key":"k","op":"put","value":"a","expect":null,"result":null,"call":1733450000123456779,"return":1733450000123456780}',
      '{"key":"k","op":"get","value":null,"expect":null,"result":"a","call":-0.000000001,"return":1733450000.123456789,"client":"c"}',
      '{"key":"k","op":"del","value":null,"expect":null,"result":null,"call":7,"return":null}',
      '',
    ].join('\n');
    expect(formatHistoryJsonLines(parseHistoryJsonLines(text))).toBe(text);
  });

  it('keeps the order of nanoseconds beyond 2^53: a stale read that rounding would hide is not linearizable', () => {
    // As doubles, ...779 and ...780 are one time (doubles there are 256 apart),
    // so the read would look concurrent with the write it missed.
    expect(Number('1733450000123456779')).toBe(Number('1733450000123456780'));
    const text = [
      '{"key":"k","op":"put","value":"a","expect":null,"result":null,"call":1733450000123450000,"return":1733450000123451000}',
      '{"key":"k","op":"put","value":"b","expect":null,"result":null,"call":1733450000123456000,"return":1733450000123456779}',
      '{"key":"k","op":"get","value":null,"expect":null,"result":"a","call":1733450000123456780,"return":1733450000123457000}',
    ].join('\n');
    const history = parseHistoryJsonLines(text);
    expect(checkLinearizability(history)).toMatchObject({
      verdict: 'not-linearizable',
      failingPrefix: history,
      failingAtMs: 1733450000123457000n,
    });
  });

  it('keeps the order of decimal seconds to the nanosecond: the same stale read is not linearizable', () => {
    expect(Number('1733450000.123456779')).toBe(Number('1733450000.12345678'));
    const text = [
      '{"key":"k","op":"put","value":"a","expect":null,"result":null,"call":1733450000.12345,"return":1733450000.123451}',
      '{"key":"k","op":"put","value":"b","expect":null,"result":null,"call":1733450000.123456,"return":1733450000.123456779}',
      '{"key":"k","op":"get","value":null,"expect":null,"result":"a","call":1733450000.12345678,"return":1733450000.123457}',
    ].join('\n');
    expect(checkLinearizability(parseHistoryJsonLines(text))).toMatchObject({
      verdict: 'not-linearizable',
      failingAtMs: new DecimalTime(1733450000123457n, 6),
    });
  });
});

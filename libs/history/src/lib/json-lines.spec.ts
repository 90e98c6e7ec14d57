import { InvalidArgumentError } from '@bulwark/errors';
import { cas, del, failed, get, put } from '../testing/operations';
import { formatHistoryJsonLines, parseHistoryJsonLines, toHistoryJsonLine } from './json-lines';

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
  ])('names the line and field of %s', (bad, message) => {
    expect(problem(`${line({})}\n${bad}\n`)).toMatch(new RegExp(`^${message.replace(/[()[\]]/g, '\\$&')}`));
  });
});

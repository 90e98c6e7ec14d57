import { UsageError } from './exit-codes';
import { parseTxn } from './txn-syntax';

describe('the txn syntax', () => {
  it('reads compares, success ops and failure ops split by blank lines, skipping comments', () => {
    const txn = parseTxn(
      [
        '# user/1 is new, and user/2 is not Grace',
        'version("user/1") = 0',
        'value(user/2) != "Grace Hopper"',
        'version( user/3 ) > 18446744073709551615',
        '',
        'put user/1 Ada',
        '  put "key with spaces" "line\\nbreak"  ',
        'del user/3',
        '',
        '# nothing else',
        'delete user/1',
        '',
        '',
      ].join('\n'),
    );
    expect(txn).toEqual({
      compares: [
        { key: 'user/1', target: 'version', operator: 'equal', version: 0n },
        { key: 'user/2', target: 'value', operator: 'not-equal', value: 'Grace Hopper' },
        { key: 'user/3', target: 'version', operator: 'greater', version: 2n ** 64n - 1n },
      ],
      success: [
        { type: 'put', key: 'user/1', value: 'Ada' },
        { type: 'put', key: 'key with spaces', value: 'line\nbreak' },
        { type: 'delete', key: 'user/3' },
      ],
      failure: [{ type: 'delete', key: 'user/1' }],
    });
  });

  it('takes a txn without compares or without a failure branch', () => {
    expect(parseTxn('\nput a 1\r\nput b 2\r\n')).toEqual({
      compares: [],
      success: [
        { type: 'put', key: 'a', value: '1' },
        { type: 'put', key: 'b', value: '2' },
      ],
      failure: [],
    });
    expect(parseTxn('version(a) == 3\n\ndel a')).toMatchObject({
      compares: [{ key: 'a', operator: 'equal', version: 3n }],
      failure: [],
    });
  });

  it('refuses a mistake naming its line', () => {
    const cases: Array<[string, string]> = [
      ['mod(a) > 1', 'txn line 1: unknown compare target "mod"; use version(KEY) or value(KEY)'],
      ['version(a) = x', 'txn line 1: the version must be a whole number, got "x"'],
      ['value(a) > "b"', 'txn line 1: a value compare takes = or !=, got >'],
      ['version(a) ~ 1', 'txn line 1: expected a compare such as version(KEY) = 0 or value(KEY) != TEXT'],
      ['\nget a', 'txn line 2: expected put KEY VALUE or del KEY, got get a'],
      ['\nput a', 'txn line 2: expected put KEY VALUE or del KEY, got put a'],
      ['\ndel a b', 'txn line 2: expected put KEY VALUE or del KEY, got del a b'],
      ['\nput a "unterminated\\"', 'txn line 2: expected put KEY VALUE or del KEY'],
      ['\nput a "\\q"', 'txn line 2: "\\q" is not a valid JSON string'],
      ['\n\n\n\nput a 1', 'txn line 3: a fourth section; a txn has compares, success ops, failure ops'],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        parseTxn(text);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toContain(message);
    }
  });
});

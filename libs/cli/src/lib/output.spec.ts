import { formatFields, formatTable, jsonLine, jsonText, keyValueJson, valueJson } from './output';

describe('output', () => {
  it('pads table columns to their widest cell, without borders, trailing spaces or colours', () => {
    expect(
      formatTable(
        ['GROUP', 'EPOCH', 'PRIMARY'],
        [
          ['group-a', '15', 'replica-a1'],
          ['group-bb', '7', ''],
        ],
      ),
    ).toBe(['GROUP     EPOCH  PRIMARY', 'group-a   15     replica-a1', 'group-bb  7      -', ''].join('\n'));
  });

  it('aligns label and value pairs', () => {
    expect(
      formatFields([
        ['held', 'yes'],
        ['last token', '7'],
        ['holder', ''],
      ]),
    ).toBe('held        yes\nlast token  7\nholder      -\n');
  });

  it('writes 64-bit numbers as exact decimal strings', () => {
    expect(jsonText({ token: 2n ** 64n - 1n, n: 3 })).toBe('{\n  "token": "18446744073709551615",\n  "n": 3\n}\n');
    expect(jsonLine({ revision: 12n, type: 'snapshot' })).toBe('{"revision":"12","type":"snapshot"}\n');
  });

  it('gives a value as text when it is UTF-8, and as base64 always', () => {
    expect(valueJson(Buffer.from('héllo'))).toEqual({ value: 'héllo', valueBase64: 'aMOpbGxv' });
    expect(valueJson(Buffer.from([0xff, 0x00]))).toEqual({ valueBase64: '/wA=' });
    expect(keyValueJson({ key: 'k', value: Buffer.from('1'), version: 2n, modSequence: 9n })).toEqual({
      key: 'k',
      value: '1',
      valueBase64: 'MQ==',
      version: 2n,
      modSequence: 9n,
    });
  });
});

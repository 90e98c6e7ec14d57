import { numberLiteralsOf } from './number-literals';

describe('numberLiteralsOf', () => {
  it('gives the source text of top-level number members, which JSON.parse would round', () => {
    const line = '{"key":"k","call":1733450000123456789,"return":1733450000.123456789,"result":null}';
    expect(numberLiteralsOf(line)).toEqual(
      new Map([
        ['call', '1733450000123456789'],
        ['return', '1733450000.123456789'],
      ]),
    );
  });

  it('is not fooled by strings, nested values, escaped names, whitespace or repeated names', () => {
    const line = [
      ' { "value" : "\\"call\\":1,{[" ,',
      '"expect":{"call":2,"x":["}",3,{"y":"\\\\"}]},',
      '"c\\u0061ll"\t:\r-1.5E-3 ,',
      '"return":4,"return":null,"n":[1],"t":true,"f":false, "z" : 0 }',
    ].join('');
    expect(JSON.parse(line)).toMatchObject({ call: -0.0015, return: null });
    expect(numberLiteralsOf(line)).toEqual(
      new Map([
        ['call', '-1.5E-3'],
        ['z', '0'],
      ]),
    );
  });

  it('skips a long string without overflowing the stack (a backtracking regular expression would)', () => {
    const line = `{"value":"${'a\\n'.repeat(5_000_000)}","call":5}`;
    expect(numberLiteralsOf(line)).toEqual(new Map([['call', '5']]));
  });

  it('throws on text that is not a JSON object (callers parse it first)', () => {
    expect(() => numberLiteralsOf('[1]')).toThrow('not valid JSON at offset 0');
    expect(() => numberLiteralsOf('{"a":"1}')).toThrow('not valid JSON at offset 5');
  });
});

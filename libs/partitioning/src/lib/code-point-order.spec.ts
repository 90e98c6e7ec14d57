import fc from 'fast-check';
import { compareCodePoints } from './code-point-order';

const utf8 = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const sharedLength = Math.min(a.length, b.length);
  for (let i = 0; i < sharedLength; i++) {
    const difference = (a[i] as number) - (b[i] as number);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

describe('compareCodePoints', () => {
  it('orders like the UTF-8 bytes of the strings (1,000 runs over any code points)', () => {
    const anyCodePoints = fc.string({ unit: 'binary', maxLength: 8 });
    fc.assert(
      fc.property(anyCodePoints, anyCodePoints, (a, b) => {
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(compareBytes(utf8.encode(a), utf8.encode(b))));
      }),
      { numRuns: 1000 },
    );
  });

  it('puts code points above U+FFFF after U+E000..U+FFFF, where UTF-16 code unit order does not', () => {
    const emoji = '\u{1F600}';
    const privateUse = '\uE000';
    expect(emoji < privateUse).toBe(true);
    expect(compareCodePoints(emoji, privateUse)).toBeGreaterThan(0);
    expect(compareCodePoints(privateUse, emoji)).toBeLessThan(0);
  });

  it('sorts a prefix first and equal strings as equal', () => {
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
    expect(compareCodePoints('', 'a')).toBeLessThan(0);
    expect(compareCodePoints('key', 'key')).toBe(0);
  });
});

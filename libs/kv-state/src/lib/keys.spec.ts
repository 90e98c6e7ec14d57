import fc from 'fast-check';
import { compareCodePoints } from '@bulwark/partitioning';
import { compareKeys, utf8Length } from './keys';

const utf8 = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  return Math.sign(Buffer.compare(Buffer.from(utf8.encode(a)), Buffer.from(utf8.encode(b))));
}

describe('utf8Length', () => {
  it('counts the bytes TextEncoder writes for well-formed strings', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 20 }),
        (text) => utf8Length(text) === utf8.encode(text).length,
      ),
    );
    expect([utf8Length(''), utf8Length('a'), utf8Length('é'), utf8Length('\u{ffff}'), utf8Length('\u{1f600}')]).toEqual(
      [0, 1, 2, 3, 4],
    );
  });

  it('is -1 for a lone surrogate, leading or trailing', () => {
    for (const text of ['\ud800', 'a\udfff', '\ud83da', '\ude00\ud83d', 'x\ud83d']) expect(utf8Length(text)).toBe(-1);
  });
});

describe('compareKeys', () => {
  it('orders as UTF-8 bytes do, and as @bulwark/partitioning orders keys', () => {
    const key = fc.string({
      unit: fc.constantFrom('a', 'b', '\u{e000}', '\u{ffff}', '\u{10000}', '\u{1f600}', 'é'),
      maxLength: 4,
    });
    fc.assert(
      fc.property(key, key, (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(compareUtf8(a, b));
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(compareCodePoints(a, b)));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(compareUtf8(a, b));
      }),
    );
  });

  it('puts U+10000 and above after U+E000..U+FFFF, unlike <', () => {
    expect('\u{10000}' < '\u{ffff}').toBe(true);
    expect(compareKeys('\u{10000}', '\u{ffff}')).toBeGreaterThan(0);
    expect(compareKeys('a\u{1f600}', 'a\u{e000}b')).toBeGreaterThan(0);
    expect(compareKeys('a', 'a')).toBe(0);
  });
});

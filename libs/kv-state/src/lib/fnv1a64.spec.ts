import fc from 'fast-check';
import { Fnv1a64, fnv1a64 } from './fnv1a64';

/** The definition, in bigint arithmetic. */
function reference(bytes: Uint8Array): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash;
}

describe('fnv1a64', () => {
  it('gives the published test vectors', () => {
    const utf8 = new TextEncoder();
    expect(fnv1a64(new Uint8Array(0))).toBe(0xcbf29ce484222325n);
    expect(fnv1a64(utf8.encode('a'))).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64(utf8.encode('foobar'))).toBe(0x85944171f73967e8n);
  });

  it('matches the bigint definition, also when fed in pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (bytes, cut) => {
        const at = cut % (bytes.length + 1);
        expect(fnv1a64(bytes)).toBe(reference(bytes));
        expect(new Fnv1a64().update(bytes.subarray(0, at)).update(bytes.subarray(at)).value).toBe(reference(bytes));
      }),
    );
  });
});

import { xxh32 } from '@node-rs/xxhash';
import { hashKey } from './key-hash';

describe('hashKey', () => {
  it('is standard XXH32 with seed 0 (published reference values)', () => {
    expect(hashKey('')).toBe(0x02cc5d05);
    expect(hashKey('abc')).toBe(0x32d153ff);
  });

  it('hashes the UTF-8 bytes of the key, so a client in any language gets the same number', () => {
    expect(hashKey('é')).toBe(xxh32(new Uint8Array([0xc3, 0xa9]), 0));
    expect(hashKey('\u{1F600}')).toBe(xxh32(new Uint8Array([0xf0, 0x9f, 0x98, 0x80]), 0));
  });

  it('returns an unsigned 32-bit integer', () => {
    for (let index = 0; index < 1000; index++) {
      const hash = hashKey(`key-${index}`);
      expect(Number.isInteger(hash)).toBe(true);
      expect(hash).toBeGreaterThanOrEqual(0);
      expect(hash).toBeLessThan(2 ** 32);
    }
  });
});

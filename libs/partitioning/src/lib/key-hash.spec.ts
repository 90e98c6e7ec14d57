import { xxh32 } from '@node-rs/xxhash';
import { hashKey, hashTagOf, keyPlacementHash } from './key-hash';

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

describe('hashTagOf', () => {
  it('takes what lies between the first "{" and the first "}" after it, as Redis Cluster does', () => {
    expect(hashTagOf('user:{42}:name')).toBe('42');
    expect(hashTagOf('{42}')).toBe('42');
    expect(hashTagOf('{a}{b}')).toBe('a');
    expect(hashTagOf('x}{y}')).toBe('y');
    expect(hashTagOf('a{b{c}d')).toBe('b{c');
  });

  it('takes the whole key without a tag: no "{", no "}" after it, or nothing between them', () => {
    for (const key of ['plain', 'a{b', 'a}b', 'a{}b', '{}{x}']) expect(hashTagOf(key)).toBe(key);
  });
});

describe('keyPlacementHash', () => {
  it('places keys that share a tag at one position, and a key without one by all of it', () => {
    expect(keyPlacementHash('user:{42}:name')).toBe(keyPlacementHash('user:{42}:email'));
    expect(keyPlacementHash('user:{42}:name')).toBe(hashKey('42'));
    expect(keyPlacementHash('user:42:name')).toBe(hashKey('user:42:name'));
  });
});

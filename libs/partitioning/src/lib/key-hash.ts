import { xxh32 } from '@node-rs/xxhash';

// One hash for every partitioner: 32-bit xxHash (XXH32, seed 0) over the UTF-8
// bytes of the string. It is a published, stable algorithm, so any process or
// language maps a key to the same number, and a 32-bit result compares and
// sorts as a plain JavaScript number without BigInt.
const hashSeed = 0;

/** The position of a key (or of a ring point's label) on the 32-bit hash space. */
export function hashKey(key: string): number {
  return xxh32(key, hashSeed);
}

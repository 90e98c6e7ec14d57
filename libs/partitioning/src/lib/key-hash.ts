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

/**
 * The part of a key that decides its group, as Redis Cluster's hash tags:
 * when the key holds a "{" and, after it, a "}" with at least one character
 * between them, only the characters between the first "{" and the first "}"
 * after it count, so "user:{42}:name" and "user:{42}:email" always share a
 * group (and so a transaction); otherwise the whole key counts.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** Where a key sits on the hash space: the hash of its hash tag, or of the whole key. */
export function keyPlacementHash(key: string): number {
  return hashKey(hashTagOf(key));
}

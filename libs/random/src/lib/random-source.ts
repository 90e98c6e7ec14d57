import { InternalError, InvalidArgumentError } from '@bulwark/errors';

/** A source of uniformly distributed 32-bit integers; balancers take one so tests and simulations can seed it. */
export interface RandomSource {
  /** An integer in [0, 2^32). */
  nextUint32(): number;
}

const mask64 = (1n << 64n) - 1n;
const mask32 = 0xffff_ffffn;

/**
 * xoshiro128** 1.0 (Blackman and Vigna, https://prng.di.unimi.it/): 128 bits
 * of state, period 2^128 - 1, passes BigCrush, and is a few 32-bit integer
 * operations per number. The state is filled from the seed with SplitMix64,
 * as its authors recommend, so close seeds give unrelated streams and the
 * state is never all zero. Same seed, same sequence, in every process.
 */
export class Xoshiro128StarStar implements RandomSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** seed: an integer from 0 to 2^53 - 1. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new InvalidArgumentError('seed', `must be an integer from 0 to 2^53 - 1, got ${String(seed)}`);
    }
    const splitMix = splitMix64(BigInt(seed));
    const first = splitMix();
    const second = splitMix();
    this.s0 = Number(first & mask32);
    this.s1 = Number(first >> 32n);
    this.s2 = Number(second & mask32);
    this.s3 = Number(second >> 32n);
  }

  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const shifted = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= shifted;
    this.s3 = rotateLeft(this.s3, 11);
    return result;
  }
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** SplitMix64 (Steele, Lea and Flood), used only to expand a seed into generator state. */
function splitMix64(seed: bigint): () => bigint {
  let state = seed;
  return () => {
    state = (state + 0x9e3779b97f4a7c15n) & mask64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask64;
    return z ^ (z >> 31n);
  };
}

/** A draw is rejected with probability below 1/2, so 64 rejections in a row mean a broken source. */
const drawsMax = 64;

/**
 * A uniform integer in [0, bound). Plain `x % bound` would favour small
 * results when bound does not divide 2^32, so draws from the top
 * (2^32 mod bound) values are rejected and redrawn.
 */
export function randomBelow(random: RandomSource, bound: number): number {
  if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) {
    throw new InvalidArgumentError('bound', `must be an integer from 1 to 2^32, got ${String(bound)}`);
  }
  const acceptedBelow = 2 ** 32 - (2 ** 32 % bound);
  for (let draw = 0; draw < drawsMax; draw++) {
    const value = random.nextUint32();
    if (value < acceptedBelow) return value % bound;
  }
  throw new InternalError(`random source returned ${drawsMax} values in a row at or above ${acceptedBelow}`);
}

/** Uniform numbers in [0, 1) from a seed: the same sequence in every process, for simulations and tests. */
export function seededUniform(seed: number): () => number {
  const source = new Xoshiro128StarStar(seed);
  return () => source.nextUint32() / 0x1_0000_0000;
}

import { InternalError } from '@bulwark/errors';
import { expectInvalidArgument } from '@bulwark/errors/testing';
import { randomBelow, Xoshiro128StarStar, type RandomSource } from './random-source';

const draws = (random: RandomSource, count: number) => Array.from({ length: count }, () => random.nextUint32());

/** Replays values, for driving randomBelow through its rejection path. */
const replaying = (values: number[]): RandomSource => ({ nextUint32: () => values.shift() ?? 0 });

describe('Xoshiro128StarStar', () => {
  it('matches the reference C code (xoshiro128starstar.c seeded by splitmix64.c, compiled with gcc)', () => {
    expect(draws(new Xoshiro128StarStar(0), 6)).toEqual([
      3737715805, 2584255861, 2876756834, 3286328325, 1553311962, 1625202774,
    ]);
    expect(draws(new Xoshiro128StarStar(42), 6)).toEqual([
      1776835114, 4165204688, 17111135, 2317295270, 2792088233, 2554630222,
    ]);
  });

  it('replays the same sequence for the same seed and a different one for the next seed', () => {
    const seed = Number.MAX_SAFE_INTEGER;
    expect(draws(new Xoshiro128StarStar(seed), 100)).toEqual(draws(new Xoshiro128StarStar(seed), 100));
    expect(draws(new Xoshiro128StarStar(7), 100)).not.toEqual(draws(new Xoshiro128StarStar(8), 100));
  });

  it('returns unsigned 32-bit integers using the whole range', () => {
    const values = draws(new Xoshiro128StarStar(1), 10_000);
    expect(values.every((value) => Number.isInteger(value) && value >= 0 && value < 2 ** 32)).toBe(true);
    expect(values.some((value) => value >= 2 ** 31)).toBe(true);
    expect(values.some((value) => value < 2 ** 31)).toBe(true);
  });

  it.each([[-1], [1.5], [2 ** 53], [Number.NaN]])('rejects seed %p', (seed) => {
    expectInvalidArgument(() => new Xoshiro128StarStar(seed), 'seed');
  });
});

describe('randomBelow', () => {
  it('stays in [0, bound)', () => {
    const random = new Xoshiro128StarStar(3);
    for (const bound of [1, 2, 3, 7, 1000, 2 ** 32]) {
      for (let draw = 0; draw < 1000; draw++) {
        const value = randomBelow(random, bound);
        expect(value >= 0 && value < bound && Number.isInteger(value)).toBe(true);
      }
    }
  });

  it('redraws the values above the largest multiple of bound, which would favour small results', () => {
    // 2^32 mod 3 = 1, so only 2^32 - 1 is rejected.
    expect(randomBelow(replaying([2 ** 32 - 1, 5]), 3)).toBe(2);
    expect(randomBelow(replaying([2 ** 32 - 2]), 3)).toBe((2 ** 32 - 2) % 3);
  });

  it('gives up with InternalError on a source that never yields an acceptable value', () => {
    expect(() => randomBelow({ nextUint32: () => 2 ** 32 - 1 }, 3)).toThrow(InternalError);
  });

  it.each([[0], [1.5], [2 ** 32 + 1]])('rejects bound %p', (bound) => {
    expectInvalidArgument(() => randomBelow(new Xoshiro128StarStar(1), bound), 'bound');
  });
});

export { randomBelow, seededUniform, Xoshiro128StarStar, type RandomSource } from './lib/random-source';

// Numeric options of the monitor's loops, checked where they are given: a
// zero interval would spin, a TTL outside lock.v1's range would fail every
// run, and either would only show up later, far from its cause.
import { InvalidArgumentError } from '@bulwark/errors';

/** value, or fallback when it is undefined; InvalidArgumentError naming field unless an integer from min to max. */
export function integerOption(field: string, value: number | undefined, fallback: number, min: number, max: number) {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min || chosen > max) {
    throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}, got ${chosen}`);
  }
  return chosen;
}

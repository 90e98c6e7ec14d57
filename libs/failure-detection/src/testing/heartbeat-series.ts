// Synthetic heartbeat arrival times for the detector's tests: regular, and
// jittery from a seeded generator so every run sees the same series.
import { seededUniform } from '@bulwark/random';

/** `count` heartbeat times starting at startMs, every intervalMs. */
export function regularHeartbeats(startMs: number, intervalMs: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => startMs + index * intervalMs);
}

/** `count` heartbeat times starting at startMs, intervals uniform in meanMs +/- spreadMs. */
export function jitteryHeartbeats(
  startMs: number,
  meanMs: number,
  spreadMs: number,
  count: number,
  seed: number,
): number[] {
  const random = seededUniform(seed);
  const times = [startMs];
  for (let index = 1; index < count; index += 1) {
    const previous = times[index - 1] as number;
    times.push(previous + meanMs - spreadMs + 2 * spreadMs * random());
  }
  return times;
}

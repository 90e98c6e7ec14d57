// Synthetic heartbeat arrival times for the detector's tests: regular, and
// jittery from a seeded generator so every run sees the same series.

/** Mulberry32: a tiny seeded PRNG with uniform output in [0, 1); tests only, never for anything secret. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
  const random = seededRandom(seed);
  const times = [startMs];
  for (let index = 1; index < count; index += 1) {
    const previous = times[index - 1] as number;
    times.push(previous + meanMs - spreadMs + 2 * spreadMs * random());
  }
  return times;
}

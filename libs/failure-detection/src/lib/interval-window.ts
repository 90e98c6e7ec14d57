/**
 * The last `capacity` heartbeat intervals, with their mean and standard
 * deviation kept as running sums so each heartbeat costs O(1) amortised.
 */
export class IntervalWindow {
  private readonly samples: Float64Array;
  private oldest = 0;
  private count = 0;
  private sum = 0;
  private squaredSum = 0;

  constructor(readonly capacity: number) {
    this.samples = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  add(intervalMs: number): void {
    if (this.count < this.capacity) {
      this.samples[this.count] = intervalMs;
      this.count += 1;
      this.sum += intervalMs;
      this.squaredSum += intervalMs * intervalMs;
      return;
    }
    const evicted = this.samples[this.oldest] as number;
    this.samples[this.oldest] = intervalMs;
    this.oldest = (this.oldest + 1) % this.capacity;
    if (this.oldest === 0) {
      // Subtracting evicted samples from float sums accumulates rounding
      // error over millions of heartbeats; once per full turn of the ring,
      // start again from the exact samples.
      this.recomputeSums();
    } else {
      this.sum += intervalMs - evicted;
      this.squaredSum += intervalMs * intervalMs - evicted * evicted;
    }
  }

  /** Mean interval; 0 when empty. */
  get meanMs(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Population standard deviation, as Akka computes it; 0 when empty. */
  get stdDeviationMs(): number {
    if (this.count === 0) return 0;
    const mean = this.meanMs;
    // Rounding can leave a tiny negative variance for identical samples.
    return Math.sqrt(Math.max(this.squaredSum / this.count - mean * mean, 0));
  }

  private recomputeSums(): void {
    this.sum = 0;
    this.squaredSum = 0;
    for (const sample of this.samples) {
      this.sum += sample;
      this.squaredSum += sample * sample;
    }
  }
}

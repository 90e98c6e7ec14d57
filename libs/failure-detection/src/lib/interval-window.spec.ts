import { seededUniform } from '@bulwark/random';
import { IntervalWindow } from './interval-window';

function exactStatistics(samples: number[]): { mean: number; std: number } {
  const mean = samples.reduce((sum, sample) => sum + sample, 0) / samples.length;
  const variance = samples.reduce((sum, sample) => sum + (sample - mean) ** 2, 0) / samples.length;
  return { mean, std: Math.sqrt(variance) };
}

describe('IntervalWindow', () => {
  it('is empty with mean and deviation 0', () => {
    const window = new IntervalWindow(3);
    expect([window.size, window.meanMs, window.stdDeviationMs]).toEqual([0, 0, 0]);
  });

  it('computes the population mean and standard deviation', () => {
    const window = new IntervalWindow(10);
    [2, 4, 4, 4, 5, 5, 7, 9].forEach((sample) => window.add(sample));
    expect(window.size).toBe(8);
    expect(window.meanMs).toBe(5);
    expect(window.stdDeviationMs).toBe(2);
  });

  it('keeps only the last `capacity` intervals', () => {
    const window = new IntervalWindow(3);
    [1000, 1000, 1000, 10, 20, 30].forEach((sample) => window.add(sample));
    expect(window.size).toBe(3);
    expect(window.meanMs).toBe(20);
  });

  it('matches a from-scratch computation after many turns of the ring with fractional samples', () => {
    const window = new IntervalWindow(50);
    const random = seededUniform(7);
    const all: number[] = [];
    for (let index = 0; index < 100_037; index += 1) {
      const sample = 1 + random() * 1000;
      all.push(sample);
      window.add(sample);
    }
    const expected = exactStatistics(all.slice(-50));
    expect(window.size).toBe(50);
    expect(window.meanMs).toBeCloseTo(expected.mean, 9);
    expect(window.stdDeviationMs).toBeCloseTo(expected.std, 9);
  });

  it('never reports a negative variance for identical samples', () => {
    const window = new IntervalWindow(7);
    for (let index = 0; index < 20; index += 1) window.add(0.1 + 0.2);
    expect(window.stdDeviationMs).toBeGreaterThanOrEqual(0);
    expect(window.stdDeviationMs).toBeLessThan(1e-6);
  });
});

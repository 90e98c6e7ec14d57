import { InvalidArgumentError } from '@bulwark/errors';
import { elapsedAtPhi, phiAfter } from './phi';

// Akka's formula verbatim, valid where e does not underflow.
function akkaPhi(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  const y = (elapsedMs - meanMs) / stdDeviationMs;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  return elapsedMs > meanMs ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}

describe('phiAfter', () => {
  it('equals Akka formula wherever that formula is finite', () => {
    for (let elapsedMs = 0; elapsedMs <= 1500; elapsedMs += 7) {
      expect(phiAfter(elapsedMs, 400, 100)).toBeCloseTo(akkaPhi(elapsedMs, 400, 100), 9);
    }
  });

  it('is log10(2) at the mean: an on-time heartbeat is as likely early as late', () => {
    expect(phiAfter(400, 400, 100)).toBeCloseTo(Math.log10(2), 12);
  });

  it('only grows with the elapsed time and stays finite where Akka reaches Infinity', () => {
    let previous = -1;
    for (let elapsedMs = 0; elapsedMs <= 100_000; elapsedMs += 50) {
      const phi = phiAfter(elapsedMs, 400, 100);
      expect(phi).toBeGreaterThanOrEqual(previous);
      previous = phi;
    }
    expect(akkaPhi(100_000, 400, 100)).toBe(Infinity);
    expect(Number.isFinite(phiAfter(100_000, 400, 100))).toBe(true);
    expect(phiAfter(100_000, 400, 100)).toBeGreaterThan(phiAfter(50_000, 400, 100));
  });

  it('rejects a standard deviation that is not above 0', () => {
    expect(() => phiAfter(10, 10, 0)).toThrow(
      new InvalidArgumentError('stdDeviationMs', 'must be a finite number above 0, got 0'),
    );
  });
});

describe('elapsedAtPhi', () => {
  it('inverts phiAfter from tiny to huge phi', () => {
    for (const phi of [0.001, 0.3, 1, 3, 8, 16, 50, 300]) {
      const elapsedMs = elapsedAtPhi(phi, 400, 100);
      expect(phiAfter(elapsedMs, 400, 100)).toBeCloseTo(phi, 6);
    }
  });

  it('rejects a phi that is not above 0', () => {
    expect(() => elapsedAtPhi(0, 400, 100)).toThrow(InvalidArgumentError);
    expect(() => elapsedAtPhi(Number.NaN, 400, 100)).toThrow('phi: must be a finite number above 0, got NaN');
  });
});

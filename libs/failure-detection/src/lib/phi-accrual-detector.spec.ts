import { InvalidArgumentError } from '@bulwark/errors';
import fc from 'fast-check';
import { jitteryHeartbeats, regularHeartbeats } from '../testing/heartbeat-series';
import { PhiAccrualFailureDetector, type MemberState } from './phi-accrual-detector';
import { elapsedAtPhi } from './phi';
import { defaultPhiAccrualSettings as defaults } from './settings';

const intervalMs = 100;

/** Feeds heartbeats, evaluating every `probeMs` between them; returns every state seen and the highest phi. */
function run(
  detector: PhiAccrualFailureDetector,
  times: number[],
  probeMs = 5,
): { states: Set<MemberState>; maxPhi: number } {
  const states = new Set<MemberState>();
  let maxPhi = 0;
  times.forEach((time, index) => {
    const previous = times[index - 1];
    if (previous !== undefined) {
      for (let probe = previous + probeMs; probe < time; probe += probeMs) {
        maxPhi = Math.max(maxPhi, detector.phi(probe));
        states.add(detector.evaluate(probe));
      }
      maxPhi = Math.max(maxPhi, detector.phi(time));
    }
    states.add(detector.heartbeat(time));
  });
  return { states, maxPhi };
}

/** Time after the last heartbeat when phi reaches `phi`, given the detector's current statistics. */
function gapForPhi(detector: PhiAccrualFailureDetector, phi: number): number {
  const { meanMs, stdDeviationMs } = detector.statistics;
  return elapsedAtPhi(phi, meanMs, stdDeviationMs);
}

describe('PhiAccrualFailureDetector', () => {
  it('is UP with phi 0 before the first heartbeat', () => {
    const detector = new PhiAccrualFailureDetector();
    expect(detector.phi(1_000_000)).toBe(0);
    expect(detector.evaluate(1_000_000)).toBe('UP');
  });

  it('keeps a member with regular heartbeats UP, phi at each arrival below recoverPhi', () => {
    const detector = new PhiAccrualFailureDetector();
    const { states, maxPhi } = run(detector, regularHeartbeats(0, intervalMs, 600));
    expect([...states]).toEqual(['UP']);
    expect(maxPhi).toBeLessThan(defaults.recoverPhi);
    expect(detector.statistics.meanMs).toBeCloseTo(intervalMs + defaults.acceptableHeartbeatPauseMs, 0);
  });

  it.each([1, 2, 3])('keeps a member with jittery heartbeats (75 +/- 50 ms, seed %i) UP', (seed) => {
    const detector = new PhiAccrualFailureDetector();
    const { states, maxPhi } = run(detector, jitteryHeartbeats(0, 75, 50, 2000, seed), 1);
    expect([...states]).toEqual(['UP']);
    expect(maxPhi).toBeLessThan(defaults.suspectPhi);
    const measuredMeanMs = detector.statistics.meanMs - defaults.acceptableHeartbeatPauseMs;
    expect(measuredMeanMs).toBeGreaterThan(70);
    expect(measuredMeanMs).toBeLessThan(80);
  });

  it('stays below DOWN through a 300 ms pause at default settings, on regular and jittery series', () => {
    for (const series of [regularHeartbeats(0, intervalMs, 300), jitteryHeartbeats(0, 75, 50, 400, 4)]) {
      const detector = new PhiAccrualFailureDetector();
      run(detector, series);
      const last = series[series.length - 1] as number;
      const pausedUntil = last + intervalMs + 300;
      const { states, maxPhi } = run(detector, [last, pausedUntil], 1);
      expect(maxPhi).toBeLessThan(defaults.downPhi);
      expect(states.has('DOWN')).toBe(false);
      expect(detector.state).toBe('UP');
    }
  });

  it('declares a dead member DOWN within the bound its settings imply, passing through SUSPECT', () => {
    const detector = new PhiAccrualFailureDetector();
    const series = regularHeartbeats(0, intervalMs, 300);
    run(detector, series);
    const last = series[series.length - 1] as number;
    // phi = softplus(a) / ln 10 >= a / ln 10 >= 1.5976 * y / ln 10 for y >= 0,
    // so phi >= downPhi once y = (elapsed - mean) / std >= downPhi * ln 10 / 1.5976.
    const { meanMs, stdDeviationMs } = detector.statistics;
    const boundMs = meanMs + ((defaults.downPhi * Math.LN10) / 1.5976) * stdDeviationMs;

    const seen: MemberState[] = [];
    for (let elapsed = 0; elapsed <= boundMs; elapsed += 1) {
      const state = detector.evaluate(last + elapsed);
      if (seen[seen.length - 1] !== state) seen.push(state);
    }
    expect(seen).toEqual(['UP', 'SUSPECT', 'DOWN']);
    expect(detector.evaluate(last + boundMs)).toBe('DOWN');
  });

  it('enters SUSPECT and DOWN at the times elapsedAtPhi predicts (the README table)', () => {
    const detector = new PhiAccrualFailureDetector();
    const series = regularHeartbeats(0, intervalMs, 300);
    run(detector, series);
    const last = series[series.length - 1] as number;
    const table = [defaults.recoverPhi, defaults.suspectPhi, defaults.downPhi].map((phi) => gapForPhi(detector, phi));
    expect(table.map(Math.round)).toEqual([528, 706, 923]);
    const suspectAt = last + gapForPhi(detector, defaults.suspectPhi);
    const downAt = last + gapForPhi(detector, defaults.downPhi);
    expect(detector.evaluate(suspectAt - 1)).toBe('UP');
    expect(detector.evaluate(suspectAt + 1)).toBe('SUSPECT');
    expect(detector.evaluate(downAt - 1)).toBe('SUSPECT');
    expect(detector.evaluate(downAt + 1)).toBe('DOWN');
  });

  it('recovers to UP on the first on-time heartbeat after the outage, without learning the outage', () => {
    const detector = new PhiAccrualFailureDetector();
    const series = regularHeartbeats(0, intervalMs, 300);
    run(detector, series);
    const meanBefore = detector.statistics.meanMs;
    const last = series[series.length - 1] as number;
    const back = last + 10_000;
    expect(detector.evaluate(back - 1)).toBe('DOWN');
    expect(detector.heartbeat(back)).toBe('DOWN');
    expect(detector.heartbeat(back + intervalMs)).toBe('UP');
    expect(detector.statistics.meanMs).toBeCloseTo(meanBefore, 0);
  });

  it('does not flap: heartbeats arriving between recoverPhi and suspectPhi keep a SUSPECT member SUSPECT', () => {
    const detector = new PhiAccrualFailureDetector();
    const series = regularHeartbeats(0, intervalMs, 100);
    series.forEach((time) => detector.heartbeat(time));
    let now = series[series.length - 1] as number;
    now += gapForPhi(detector, (defaults.suspectPhi + defaults.downPhi) / 2);
    expect(detector.heartbeat(now)).toBe('SUSPECT');

    // Each of these arrivals alone would not make an UP member SUSPECT, yet none is on time.
    const between = (defaults.recoverPhi + defaults.suspectPhi) / 2;
    for (let beat = 0; beat < 20; beat += 1) {
      now += gapForPhi(detector, between);
      expect(detector.heartbeat(now)).toBe('SUSPECT');
    }
    now += gapForPhi(detector, defaults.recoverPhi / 2);
    expect(detector.heartbeat(now)).toBe('UP');
  });

  it('bounds its window at sampleWindowSize intervals', () => {
    const detector = new PhiAccrualFailureDetector({ sampleWindowSize: 50 });
    regularHeartbeats(0, intervalMs, 1000).forEach((time) => detector.heartbeat(time));
    expect(detector.statistics.samples).toBe(50);
    // The two seeded estimates (75 and 125 ms) have left the window.
    expect(detector.statistics.meanMs).toBe(intervalMs + defaults.acceptableHeartbeatPauseMs);
  });

  it('reaches the same state after each heartbeat however often it is evaluated (200 runs)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 60 }), (gaps) => {
        const polled = new PhiAccrualFailureDetector();
        const unpolled = new PhiAccrualFailureDetector();
        let now = 0;
        polled.heartbeat(now);
        unpolled.heartbeat(now);
        for (const gap of gaps) {
          for (let probe = now + 7; probe < now + gap; probe += 7) polled.evaluate(probe);
          now += gap;
          expect(polled.heartbeat(now)).toBe(unpolled.heartbeat(now));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('rejects time that goes backwards or is not finite, naming nowMs', () => {
    const detector = new PhiAccrualFailureDetector();
    detector.heartbeat(1000);
    expect(() => detector.evaluate(999)).toThrow(new InvalidArgumentError('nowMs', 'went backwards: 999 after 1000'));
    expect(() => detector.heartbeat(Number.POSITIVE_INFINITY)).toThrow(
      new InvalidArgumentError('nowMs', 'must be a finite number, got Infinity'),
    );
  });

  it('rejects bad settings, naming the setting', () => {
    expect(() => new PhiAccrualFailureDetector({ minStdDeviationMs: -5 })).toThrow(/^minStdDeviationMs: /);
  });

  describe('forgive', () => {
    /** Phi one second after a single heartbeat: the last heartbeat of the forgiven detector sits at 100, not later. */
    const phiAfterOneSecond = () => {
      const reference = new PhiAccrualFailureDetector();
      reference.heartbeat(100);
      return reference.phi(1_100);
    };

    it('does not count a pause of the observer itself as silence, so late-read heartbeats are on time', () => {
      const detector = new PhiAccrualFailureDetector();
      for (let ms = 0; ms <= 2_000; ms += 100) detector.heartbeat(ms);
      // The observer stalls 1.5 s; the member's answers wait unread meanwhile.
      detector.forgive(3_500, 1_400);
      expect(detector.evaluate(3_500)).toBe('UP');
      expect(detector.heartbeat(3_510)).toBe('UP');
    });

    it('never moves the last heartbeat past now, and refuses a pause that is not a duration', () => {
      const detector = new PhiAccrualFailureDetector();
      detector.heartbeat(0);
      detector.forgive(100, 10_000);
      expect(detector.phi(100)).toBeLessThan(1e-3);
      expect(detector.phi(1_100)).toBeCloseTo(phiAfterOneSecond(), 12);
      expect(() => detector.forgive(200, -1)).toThrow(InvalidArgumentError);
    });
  });
});

import { MemberHealth, type Instant } from './member-health';

/** Both clocks from one number: the wall clock a fixed offset ahead. */
const at = (ms: number): Instant => ({ monoMs: ms, unixMs: 1_700_000_000_000 + ms });
const wall = (ms: number) => at(ms).unixMs;

/** Heartbeats every 100 ms from `fromMs` to `toMs` inclusive, as the monitor's probes would answer. */
function beat(health: MemberHealth, fromMs: number, toMs: number): void {
  for (let ms = fromMs; ms <= toMs; ms += 100) health.heartbeat(at(ms));
}

describe('MemberHealth', () => {
  it('takes a member that never answers DOWN once its silence is long enough, its outage dated from when watching began', () => {
    const health = new MemberHealth(at(0));
    expect(health.evaluate(at(900))).toEqual({ from: 'UP', to: 'SUSPECT' });
    expect(health.evaluate(at(1_000))).toEqual({ from: 'SUSPECT', to: 'DOWN', outageStartUnixMs: wall(0) });
  });

  it('stays UP through a 300 ms pause (a GC, a SIGSTOP) between regular heartbeats', () => {
    const health = new MemberHealth(at(0));
    beat(health, 100, 5_000);
    for (let ms = 5_000; ms <= 5_400; ms += 20) expect(health.evaluate(at(ms))).toBeUndefined();
    expect(health.heartbeat(at(5_400))).toBeUndefined();
    expect(health.state).toBe('UP');
  });

  it('goes DOWN within a second of silence, dating the outage from the last heartbeat, and ends it at the first heartbeat back', () => {
    const health = new MemberHealth(at(0));
    beat(health, 100, 5_000);
    let downAtMs = 0;
    for (let ms = 5_000; health.state !== 'DOWN'; ms += 10) {
      health.evaluate(at(ms));
      downAtMs = ms;
    }
    expect(downAtMs - 5_000).toBeLessThan(1_000);
    // The first heartbeat after a long silence is not on time: still DOWN, but the outage ended there.
    expect(health.heartbeat(at(8_000))).toBeUndefined();
    expect(health.state).toBe('DOWN');
    expect(health.heartbeat(at(8_100))).toEqual({ from: 'DOWN', to: 'UP', outageEndUnixMs: wall(8_000) });
    expect(health.lastHeartbeatUnixMs).toBe(wall(8_100));
  });

  it('takes a refusal at its word: DOWN at once, UP again at the next heartbeat, the outage dated between probes', () => {
    const health = new MemberHealth(at(0));
    beat(health, 100, 2_000);
    // The member failed between its last answer (2,000) and the first refusal (2,050).
    expect(health.refuse(at(2_050))).toEqual({ from: 'UP', to: 'DOWN', outageStartUnixMs: wall(2_025) });
    expect(health.stateSinceUnixMs).toBe(wall(2_050));
    // Refused again and again: one outage, no new change.
    expect(health.refuse(at(2_150))).toBeUndefined();
    expect(health.evaluate(at(2_200))).toBeUndefined();
    expect(health.state).toBe('DOWN');
    // It came back between the last refusal (2,150) and the first answer (2,250).
    expect(health.heartbeat(at(2_250))).toEqual({ from: 'DOWN', to: 'UP', outageEndUnixMs: wall(2_200) });
    // A later outage is bracketed afresh.
    beat(health, 2_300, 3_000);
    expect(health.refuse(at(3_100))).toEqual({ from: 'UP', to: 'DOWN', outageStartUnixMs: wall(3_050) });
  });

  it('keeps an outage going when a member answers once and fails again before it is UP', () => {
    const health = new MemberHealth(at(0));
    beat(health, 100, 2_000);
    health.refuse(at(2_050));
    // One answer (not yet UP: the first after a refusal that long is not on time), then refused again.
    health.heartbeat(at(4_000));
    expect(health.state).toBe('DOWN');
    expect(health.refuse(at(4_100))).toBeUndefined();
    // Silent after one more answer, long enough to be DOWN again.
    health.heartbeat(at(6_000));
    for (let ms = 6_000; ms <= 8_000; ms += 25) health.evaluate(at(ms));
    expect(health.heartbeat(at(9_000))).toBeUndefined();
    expect(health.heartbeat(at(9_100))).toEqual({ from: 'DOWN', to: 'UP', outageEndUnixMs: wall(9_000) });
  });

  it('reports the suspicion level that grows with silence', () => {
    const health = new MemberHealth(at(0));
    beat(health, 100, 2_000);
    expect(health.phi(2_000)).toBeLessThan(1);
    expect(health.phi(2_800)).toBeGreaterThan(3);
  });
});

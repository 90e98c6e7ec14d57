// The chaos run's fault schedule: repeatable from its seed, one fault at a
// time with quiet between, inside the window between warm-up and heal, and
// every chosen kind in each cycle.
import {
  failpointNemeses,
  faultDurationMs,
  nemesisKinds,
  nemesisSchedule,
  type NemesisScheduleOptions,
} from './nemesis-schedule';

const options: NemesisScheduleOptions = {
  seed: 7,
  durationMs: 180_000,
  kinds: nemesisKinds,
  targets: ['primary', 'backup', 'coordinator-leader', 'router', 'lock', 'redis'],
  warmUpMs: 5_000,
  healMs: 20_000,
  quietMs: 2_000,
};

describe('nemesisSchedule', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(nemesisSchedule(options)).toEqual(nemesisSchedule({ ...options }));
    expect(nemesisSchedule({ ...options, seed: 8 })).not.toEqual(nemesisSchedule(options));
  });

  it('runs one fault at a time, quiet between, inside warm-up and heal, each as long as its kind lasts', () => {
    const faults = nemesisSchedule(options);
    expect(faults.length).toBeGreaterThan(nemesisKinds.length);
    expect(faults.map((fault) => fault.id)).toEqual(faults.map((_, index) => index + 1));
    expect(faults[0]?.startMs).toBe(options.warmUpMs);
    for (const [index, fault] of faults.entries()) {
      const [shortest, longest] = faultDurationMs[fault.kind];
      expect(fault.durationMs).toBeGreaterThanOrEqual(shortest);
      expect(fault.durationMs).toBeLessThanOrEqual(longest);
      expect(fault.startMs + fault.durationMs).toBeLessThanOrEqual(options.durationMs - options.healMs);
      const next = faults[index + 1];
      if (next) expect(next.startMs).toBeGreaterThanOrEqual(fault.startMs + fault.durationMs + options.quietMs);
    }
  });

  it('runs every chosen kind once in each cycle, and only those', () => {
    const kinds = ['kill', 'pause-long', 'partition'] as const;
    const faults = nemesisSchedule({ ...options, kinds });
    expect(new Set(faults.slice(0, 3).map((fault) => fault.kind))).toEqual(new Set(kinds));
    expect(new Set(faults.map((fault) => fault.kind))).toEqual(new Set(kinds));
  });

  it('hits only targets a kind means something on', () => {
    const faults = nemesisSchedule({ ...options, durationMs: 1_800_000 });
    for (const fault of faults) {
      if (failpointNemeses.has(fault.kind) || fault.kind === 'isolate' || fault.kind === 'isolate-kill') {
        expect(['primary', 'backup', 'coordinator-leader']).toContain(fault.target);
      }
      if (fault.kind === 'partition-one-way') expect(fault.target).not.toBe('redis');
    }
    expect(() => nemesisSchedule({ ...options, kinds: ['failpoint'], targets: ['router', 'redis'] })).toThrow(
      'kinds: failpoint fits none of the targets router, redis',
    );
    expect(() => nemesisSchedule({ ...options, kinds: ['isolate-kill'], targets: ['lock'] })).toThrow(
      'kinds: isolate-kill fits none of the targets lock',
    );
  });

  it('schedules nothing when the window is shorter than any fault of the chosen kinds', () => {
    // 500 ms between warm-up and heal; a kill or a partition lasts at least 1 s.
    expect(nemesisSchedule({ ...options, kinds: ['kill', 'partition'], durationMs: 25_500 })).toEqual([]);
    // A short pause fits.
    expect(nemesisSchedule({ ...options, kinds: ['pause-short'], durationMs: 25_500 })).toHaveLength(1);
    expect(() => nemesisSchedule({ ...options, kinds: [] })).toThrow('kinds');
    expect(() => nemesisSchedule({ ...options, targets: [] })).toThrow('targets');
  });
});

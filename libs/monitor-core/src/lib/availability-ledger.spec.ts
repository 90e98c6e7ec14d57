import { InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';
import { AvailabilityLedger, ninesMax, type SubjectRef } from './availability-ledger';

const second = 1_000;
const minute = 60 * second;
const hour = 60 * minute;
/** A wall-clock origin far from 0, so nothing passes by accident of small numbers. */
const t0 = 1_700_000_000_000;
const replica: SubjectRef = { kind: 'member', id: 'replica-a1' };

function watchedLedger(fromMs = t0): AvailabilityLedger {
  const ledger = new AvailabilityLedger();
  ledger.startWatching(fromMs);
  ledger.track(replica, fromMs);
  return ledger;
}

describe('AvailabilityLedger', () => {
  it('derives MTBF, MTTR, availability and nines from the outages of a known schedule', () => {
    const ledger = watchedLedger();
    ledger.down(replica, t0 + 10 * second);
    ledger.up(replica, t0 + 13 * second);
    ledger.down(replica, t0 + 20 * second);
    ledger.up(replica, t0 + 22 * second);
    ledger.watchedUntil(t0 + 30 * second);
    const figures = ledger.figures(replica, 'hour', t0 + 30 * second);
    expect(figures).toMatchObject({
      kind: 'member',
      id: 'replica-a1',
      window: 'hour',
      observedMs: 30 * second,
      downMs: 5 * second,
      failures: 2,
      mtbfMs: 12.5 * second,
      mttrMs: 2.5 * second,
    });
    expect(figures.availability).toBeCloseTo(25 / 30, 12);
    expect(figures.availability).toBeCloseTo(figures.mtbfMs! / (figures.mtbfMs! + figures.mttrMs!), 12);
    expect(figures.nines).toBeCloseTo(-Math.log10(5 / 30), 12);
    expect(figures.outages).toEqual([
      { startUnixMs: t0 + 10 * second, endUnixMs: t0 + 13 * second },
      { startUnixMs: t0 + 20 * second, endUnixMs: t0 + 22 * second },
    ]);
  });

  it('counts an outage still going on up to now, and a subject without failures as fully available', () => {
    const ledger = watchedLedger();
    const canary: SubjectRef = { kind: 'canary', id: 'kv/router-1/group-a' };
    ledger.track(canary, t0);
    ledger.down(replica, t0 + 8 * second);
    expect(ledger.isDown(replica)).toBe(true);
    const now = t0 + 10 * second;
    expect(ledger.figures(replica, 'hour', now)).toMatchObject({ downMs: 2 * second, failures: 1 });
    expect(ledger.figures(replica, 'hour', now).outages).toEqual([{ startUnixMs: t0 + 8 * second, endUnixMs: null }]);
    expect(ledger.figures(canary, 'day', now)).toMatchObject({
      observedMs: 10 * second,
      downMs: 0,
      failures: 0,
      mtbfMs: null,
      mttrMs: null,
      availability: 1,
      nines: ninesMax,
    });
  });

  it('counts neither up nor down time while the monitor itself was not watching', () => {
    const ledger = watchedLedger();
    ledger.down(replica, t0 + 8 * second);
    ledger.watchedUntil(t0 + 10 * second);
    // The monitor restarts 10 s later: the outage went on while nobody watched.
    ledger.startWatching(t0 + 20 * second);
    ledger.up(replica, t0 + 25 * second);
    const figures = ledger.figures(replica, 'hour', t0 + 30 * second);
    expect(figures).toMatchObject({ observedMs: 20 * second, downMs: 7 * second, failures: 1 });
  });

  it('counts a subject from when it was first seen, and keeps each window to its own span', () => {
    const ledger = watchedLedger();
    ledger.down(replica, t0 + 10 * minute);
    ledger.up(replica, t0 + 11 * minute);
    const late: SubjectRef = { kind: 'group', id: 'group-b' };
    ledger.track(late, t0 + 2 * hour);
    const now = t0 + 3 * hour;
    ledger.watchedUntil(now);
    expect(ledger.figures(replica, 'hour', now)).toMatchObject({ observedMs: hour, downMs: 0, failures: 0 });
    expect(ledger.figures(replica, 'day', now)).toMatchObject({ observedMs: 3 * hour, downMs: minute, failures: 1 });
    expect(ledger.figures(late, 'day', now)).toMatchObject({ observedMs: hour, failures: 0 });
  });

  it('goes down once per outage, never before a subject was seen nor into the outage before', () => {
    const ledger = watchedLedger();
    ledger.down(replica, t0 - minute);
    ledger.down(replica, t0 + 5 * second);
    ledger.up(replica, t0 + 2 * second);
    ledger.up(replica, t0 + 9 * second);
    ledger.down(replica, t0 + second);
    ledger.up(replica, t0 + 3 * second);
    expect(ledger.figures(replica, 'hour', t0 + 10 * second).outages).toEqual([
      { startUnixMs: t0, endUnixMs: t0 + 2 * second },
      { startUnixMs: t0 + 2 * second, endUnixMs: t0 + 3 * second },
    ]);
  });

  it('forgets what the day window has left behind', () => {
    const ledger = watchedLedger();
    ledger.down(replica, t0 + minute);
    ledger.up(replica, t0 + 2 * minute);
    ledger.watchedUntil(t0 + 25 * hour);
    expect(ledger.figures(replica, 'day', t0 + 25 * hour)).toMatchObject({ failures: 0, outages: [] });
    expect(ledger.snapshot().subjects[0]?.outages).toEqual([]);
  });

  it('restores from its snapshot with the same figures, and refuses a damaged one naming what is wrong', () => {
    const ledger = watchedLedger();
    ledger.down(replica, t0 + 10 * second);
    ledger.up(replica, t0 + 12 * second);
    ledger.down(replica, t0 + 15 * second);
    ledger.watchedUntil(t0 + 20 * second);
    const snapshot = JSON.parse(JSON.stringify(ledger.snapshot()));
    const restored = AvailabilityLedger.restore(snapshot);
    restored.startWatching(t0 + 20 * second);
    expect(restored.figures(replica, 'hour', t0 + 20 * second)).toEqual(
      ledger.figures(replica, 'hour', t0 + 20 * second),
    );
    expect(restored.isDown(replica)).toBe(true);
    const damaged: Array<[string, unknown]> = [
      ['version', { ...snapshot, version: 2 }],
      ['watched', { ...snapshot, watched: 'x' }],
      ['watched[0]', { ...snapshot, watched: [[t0 + 5, t0]] }],
      ['subjects[0].kind', { ...snapshot, subjects: [{ ...snapshot.subjects[0], kind: 'router' }] }],
      ['subjects[0].id', { ...snapshot, subjects: [{ ...snapshot.subjects[0], id: '' }] }],
      [
        'subjects[0].outages[1]',
        {
          ...snapshot,
          subjects: [
            {
              ...snapshot.subjects[0],
              outages: [
                [t0, null],
                [t0, 1],
              ],
            },
          ],
        },
      ],
      ['subjects[0].outages[0][1]', { ...snapshot, subjects: [{ ...snapshot.subjects[0], outages: [[t0, -1]] }] }],
    ];
    for (const [field, value] of damaged) {
      const error = (() => {
        try {
          AvailabilityLedger.restore(value);
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).details.field).toBe(field);
    }
  });

  it('starts watching again after the wall clock stepped back, cutting what lies past it', () => {
    const ledger = watchedLedger();
    ledger.down(replica, t0 + 10 * second);
    ledger.up(replica, t0 + 20 * second);
    ledger.down(replica, t0 + 25 * second);
    ledger.up(replica, t0 + 27 * second);
    ledger.watchedUntil(t0 + 30 * second);
    // Restarted with a clock 15 s behind the last save.
    ledger.startWatching(t0 + 15 * second);
    const figures = ledger.figures(replica, 'hour', t0 + 16 * second);
    expect(figures.outages).toEqual([{ startUnixMs: t0 + 10 * second, endUnixMs: t0 + 15 * second }]);
    expect(figures).toMatchObject({ observedMs: 16 * second, downMs: 5 * second, failures: 1 });
    expect(ledger.figures(replica, 'hour', t0 + 16 * second).nines).toBeGreaterThanOrEqual(0);
  });

  it('holds its bounds: subjects beyond the limit are refused, outages beyond it drop the oldest', () => {
    const ledger = new AvailabilityLedger({ subjectsMax: 2, outagesPerSubjectMax: 2, watchedStretchesMax: 10 });
    ledger.startWatching(t0);
    ledger.track(replica, t0);
    ledger.track({ kind: 'group', id: 'g' }, t0);
    expect(() => ledger.track({ kind: 'canary', id: 'c' }, t0)).toThrow(ResourceExhaustedError);
    for (const startS of [1, 3, 5]) {
      ledger.down(replica, t0 + startS * second);
      ledger.up(replica, t0 + (startS + 1) * second);
    }
    expect(ledger.figures(replica, 'hour', t0 + 10 * second).outages.map((outage) => outage.startUnixMs)).toEqual([
      t0 + 3 * second,
      t0 + 5 * second,
    ]);
  });

  it('refuses figures for an untracked subject and time that is not a time', () => {
    const ledger = watchedLedger();
    expect(() => ledger.figures({ kind: 'member', id: 'nobody' }, 'hour', t0)).toThrow(InvalidArgumentError);
    expect(() => ledger.down(replica, Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => new AvailabilityLedger().watchedUntil(t0)).toThrow(InvalidArgumentError);
  });
});

// Availability accounting: outages per subject (a member, a group, a
// canary) and the stretches of time the monitor itself was watching, from
// which MTBF, MTTR, availability and nines follow for any window. Only
// watched time counts: while the monitor is down nobody knows whether a
// subject was up, so that time is neither up nor down time, and a subject
// counts only from when it was first seen. Time is passed in (wall-clock
// ms, since the record outlives the process); nothing here reads a clock.
//
// With failures the outages that overlap the window:
//   down     = the outages' time within the window and the watched time
//   MTBF     = (watched - down) / failures    (up time per failure)
//   MTTR     = down / failures                (down time per failure)
//   availability = MTBF / (MTBF + MTTR) = (watched - down) / watched
//   nines    = -log10(1 - availability), capped at ninesMax
import { InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';

export const subjectKinds = ['member', 'group', 'canary'] as const;
export type SubjectKind = (typeof subjectKinds)[number];

/** The windows figures are given for, in ms. */
export const availabilityWindowsMs = { hour: 3_600_000, day: 86_400_000 } as const;
export type AvailabilityWindow = keyof typeof availabilityWindowsMs;

/** Availability 1 (no down time at all) is reported as this many nines. */
export const ninesMax = 9;
/** Outages a figure lists, the latest. */
export const listedOutagesMax = 100;

export interface LedgerLimits {
  /** Subjects tracked at once (members, groups and canaries together). */
  readonly subjectsMax: number;
  /** Outages kept per subject within the retention; the oldest go first beyond it. */
  readonly outagesPerSubjectMax: number;
  /** Watched stretches kept (one per monitor start) within the retention. */
  readonly watchedStretchesMax: number;
}

export const defaultLedgerLimits: LedgerLimits = Object.freeze({
  subjectsMax: 4_096,
  outagesPerSubjectMax: 10_000,
  watchedStretchesMax: 10_000,
});

/** What the longest window needs, and no more. */
export const retentionMs = availabilityWindowsMs.day;

export interface SubjectRef {
  readonly kind: SubjectKind;
  readonly id: string;
}

export interface Outage {
  readonly startUnixMs: number;
  /** null while the outage goes on. */
  readonly endUnixMs: number | null;
}

export interface AvailabilityFigures extends SubjectRef {
  readonly window: AvailabilityWindow;
  readonly observedMs: number;
  readonly downMs: number;
  readonly failures: number;
  /** null without a failure: there is nothing to average. */
  readonly mtbfMs: number | null;
  readonly mttrMs: number | null;
  readonly availability: number;
  readonly nines: number;
  /** Outages overlapping the window, oldest first, at most listedOutagesMax (the latest). */
  readonly outages: readonly Outage[];
}

/** The ledger as plain JSON, for the monitor's state file. */
export interface LedgerSnapshot {
  readonly version: 1;
  /** [start, end] of every watched stretch, oldest first. */
  readonly watched: ReadonlyArray<readonly [number, number]>;
  readonly subjects: ReadonlyArray<{
    readonly kind: SubjectKind;
    readonly id: string;
    readonly firstSeenUnixMs: number;
    /** [start, end or null], oldest first. */
    readonly outages: ReadonlyArray<readonly [number, number | null]>;
  }>;
}

interface Stretch {
  startUnixMs: number;
  endUnixMs: number;
}

interface SubjectRecord extends SubjectRef {
  readonly firstSeenUnixMs: number;
  readonly outages: Array<{ startUnixMs: number; endUnixMs: number | null }>;
}

const keyOf = (kind: SubjectKind, id: string) => `${kind}/${id}`;

export class AvailabilityLedger {
  private readonly stretches: Stretch[] = [];
  private readonly subjects = new Map<string, SubjectRecord>();
  private watching = false;

  constructor(private readonly limits: LedgerLimits = defaultLedgerLimits) {}

  /**
   * A new watched stretch begins (the monitor started). A wall clock that
   * stepped back since the last stretch cuts that stretch (and any outage
   * past it) back to now rather than refusing to start: the record stays
   * ordered, and a monitor must start whatever the clock did.
   */
  startWatching(atUnixMs: number): void {
    requireTime(atUnixMs, 'atUnixMs');
    const last = this.stretches.at(-1);
    if (last && atUnixMs < last.endUnixMs) this.cutBackTo(atUnixMs);
    this.stretches.push({ startUnixMs: atUnixMs, endUnixMs: atUnixMs });
    this.watching = true;
    this.prune(atUnixMs);
  }

  /** The monitor was still watching at atUnixMs; also forgets what every window has left behind. */
  watchedUntil(atUnixMs: number): void {
    const current = this.currentStretch();
    requireTime(atUnixMs, 'atUnixMs');
    current.endUnixMs = Math.max(current.endUnixMs, atUnixMs);
    this.prune(atUnixMs);
  }

  /** Starts counting a subject from atUnixMs, if it is new. */
  track(subject: SubjectRef, atUnixMs: number): void {
    requireTime(atUnixMs, 'atUnixMs');
    const key = keyOf(subject.kind, subject.id);
    if (this.subjects.has(key)) return;
    if (this.subjects.size >= this.limits.subjectsMax) {
      throw new ResourceExhaustedError('subjectsMax', `${this.limits.subjectsMax} subjects are tracked already`);
    }
    this.subjects.set(key, { kind: subject.kind, id: subject.id, firstSeenUnixMs: atUnixMs, outages: [] });
  }

  /** Opens an outage from startUnixMs, unless one is open (a subject goes down once). */
  down(subject: SubjectRef, startUnixMs: number): void {
    requireTime(startUnixMs, 'startUnixMs');
    const record = this.record(subject);
    const open = record.outages.at(-1);
    if (open && open.endUnixMs === null) return;
    // Never before it was seen, nor overlapping the outage before it.
    const floor = Math.max(record.firstSeenUnixMs, open?.endUnixMs ?? -Infinity);
    record.outages.push({ startUnixMs: Math.max(startUnixMs, floor), endUnixMs: null });
    if (record.outages.length > this.limits.outagesPerSubjectMax) record.outages.shift();
  }

  /** Closes the open outage at endUnixMs (never before it started); nothing when none is open. */
  up(subject: SubjectRef, endUnixMs: number): void {
    requireTime(endUnixMs, 'endUnixMs');
    const open = this.record(subject).outages.at(-1);
    if (!open || open.endUnixMs !== null) return;
    open.endUnixMs = Math.max(endUnixMs, open.startUnixMs);
  }

  /** Stops tracking a subject and drops its outages (one that was tracked under a provisional name). */
  forget(subject: SubjectRef): void {
    this.subjects.delete(keyOf(subject.kind, subject.id));
  }

  isDown(subject: SubjectRef): boolean {
    const last = this.subjects.get(keyOf(subject.kind, subject.id))?.outages.at(-1);
    return last !== undefined && last.endUnixMs === null;
  }

  /** Every tracked subject, by kind then id. */
  tracked(): SubjectRef[] {
    return [...this.subjects.values()]
      .map(({ kind, id }) => ({ kind, id }))
      .sort((a, b) => subjectKinds.indexOf(a.kind) - subjectKinds.indexOf(b.kind) || compare(a.id, b.id));
  }

  has(subject: SubjectRef): boolean {
    return this.subjects.has(keyOf(subject.kind, subject.id));
  }

  /** The figures of a tracked subject over the window ending at nowUnixMs. */
  figures(subject: SubjectRef, window: AvailabilityWindow, nowUnixMs: number): AvailabilityFigures {
    requireTime(nowUnixMs, 'nowUnixMs');
    const record = this.record(subject);
    const from = Math.max(nowUnixMs - availabilityWindowsMs[window], record.firstSeenUnixMs);
    const watched = this.watchedWithin(from, nowUnixMs);
    const observedMs = sum(watched.map(([start, end]) => end - start));
    const overlapping = record.outages.filter(
      (outage) => outage.startUnixMs <= nowUnixMs && (outage.endUnixMs ?? nowUnixMs) > from,
    );
    const downMs = sum(
      overlapping.map((outage) => overlapWithin(outage.startUnixMs, outage.endUnixMs ?? nowUnixMs, watched)),
    );
    const failures = overlapping.length;
    const upMs = observedMs - downMs;
    const availability = observedMs === 0 ? 1 : upMs / observedMs;
    return {
      kind: record.kind,
      id: record.id,
      window,
      observedMs,
      downMs,
      failures,
      mtbfMs: failures === 0 ? null : upMs / failures,
      mttrMs: failures === 0 ? null : downMs / failures,
      availability,
      nines: availability >= 1 ? ninesMax : Math.min(ninesMax, Math.max(0, -Math.log10(1 - availability))),
      outages: overlapping.slice(-listedOutagesMax).map(({ startUnixMs, endUnixMs }) => ({ startUnixMs, endUnixMs })),
    };
  }

  snapshot(): LedgerSnapshot {
    return {
      version: 1,
      watched: this.stretches.map(({ startUnixMs, endUnixMs }) => [startUnixMs, endUnixMs] as const),
      subjects: [...this.subjects.values()].map((record) => ({
        kind: record.kind,
        id: record.id,
        firstSeenUnixMs: record.firstSeenUnixMs,
        outages: record.outages.map(({ startUnixMs, endUnixMs }) => [startUnixMs, endUnixMs] as const),
      })),
    };
  }

  /**
   * A ledger from a snapshot (the state file), not watching until
   * startWatching(); throws InvalidArgumentError naming what is wrong, so a
   * damaged file is reported rather than half-read.
   */
  static restore(snapshot: unknown, limits: LedgerLimits = defaultLedgerLimits): AvailabilityLedger {
    const ledger = new AvailabilityLedger(limits);
    const value = snapshot as Partial<LedgerSnapshot> | null;
    if (typeof value !== 'object' || value === null || value.version !== 1) {
      throw new InvalidArgumentError('version', 'must be 1');
    }
    if (!Array.isArray(value.watched)) throw new InvalidArgumentError('watched', 'must be a list');
    let previousEnd = -Infinity;
    for (const [index, stretch] of value.watched.entries()) {
      const [start, end] = requirePair(stretch, `watched[${index}]`);
      if (end === null || start < previousEnd) {
        throw new InvalidArgumentError(`watched[${index}]`, 'must be an ended stretch after the one before it');
      }
      ledger.stretches.push({ startUnixMs: start, endUnixMs: end });
      previousEnd = end;
    }
    if (!Array.isArray(value.subjects)) throw new InvalidArgumentError('subjects', 'must be a list');
    for (const [index, subject] of value.subjects.entries()) {
      const field = `subjects[${index}]`;
      if (typeof subject !== 'object' || subject === null || !subjectKinds.includes(subject.kind)) {
        throw new InvalidArgumentError(`${field}.kind`, `must be one of ${subjectKinds.join(', ')}`);
      }
      if (typeof subject.id !== 'string' || subject.id === '') {
        throw new InvalidArgumentError(`${field}.id`, 'must be a non-empty string');
      }
      ledger.track(subject, requireTime(subject.firstSeenUnixMs, `${field}.firstSeenUnixMs`));
      if (!Array.isArray(subject.outages)) throw new InvalidArgumentError(`${field}.outages`, 'must be a list');
      const record = ledger.record(subject);
      for (const [outageIndex, outage] of subject.outages.entries()) {
        const [start, end] = requirePair(outage, `${field}.outages[${outageIndex}]`);
        const before = record.outages.at(-1);
        if (before && (before.endUnixMs === null || start < before.endUnixMs)) {
          throw new InvalidArgumentError(`${field}.outages[${outageIndex}]`, 'overlaps the outage before it');
        }
        record.outages.push({ startUnixMs: start, endUnixMs: end });
      }
    }
    return ledger;
  }

  private record(subject: SubjectRef): SubjectRecord {
    const record = this.subjects.get(keyOf(subject.kind, subject.id));
    if (!record) throw new InvalidArgumentError('subject', `${subject.kind} '${subject.id}' is not tracked`);
    return record;
  }

  private currentStretch(): Stretch {
    const current = this.stretches.at(-1);
    if (!this.watching || !current) throw new InvalidArgumentError('ledger', 'is not watching: call startWatching');
    return current;
  }

  /** The watched stretches clipped to [from, to]. */
  private watchedWithin(from: number, to: number): Array<readonly [number, number]> {
    const clipped: Array<readonly [number, number]> = [];
    for (const stretch of this.stretches) {
      const end =
        stretch === this.stretches.at(-1) && this.watching ? Math.max(stretch.endUnixMs, to) : stretch.endUnixMs;
      const start = Math.max(stretch.startUnixMs, from);
      const stop = Math.min(end, to);
      if (stop > start) clipped.push([start, stop]);
    }
    return clipped;
  }

  private cutBackTo(atUnixMs: number): void {
    while (this.stretches.length > 0 && (this.stretches.at(-1) as Stretch).startUnixMs > atUnixMs) this.stretches.pop();
    const last = this.stretches.at(-1);
    if (last) last.endUnixMs = Math.min(last.endUnixMs, atUnixMs);
    for (const record of this.subjects.values()) {
      while (record.outages.length > 0 && (record.outages.at(-1) as Outage).startUnixMs > atUnixMs)
        record.outages.pop();
      const open = record.outages.at(-1);
      if (open && open.endUnixMs !== null && open.endUnixMs > atUnixMs) open.endUnixMs = atUnixMs;
    }
  }

  /** Drops stretches and ended outages no window reaches any more. */
  private prune(nowUnixMs: number): void {
    const horizon = nowUnixMs - retentionMs;
    while (this.stretches.length > 1 && (this.stretches[0] as Stretch).endUnixMs < horizon) this.stretches.shift();
    while (this.stretches.length > this.limits.watchedStretchesMax) this.stretches.shift();
    for (const record of this.subjects.values()) {
      while (record.outages.length > 0) {
        const oldest = record.outages[0] as { endUnixMs: number | null };
        if (oldest.endUnixMs === null || oldest.endUnixMs >= horizon) break;
        record.outages.shift();
      }
    }
  }
}

function overlapWithin(start: number, end: number, stretches: ReadonlyArray<readonly [number, number]>): number {
  return sum(stretches.map(([from, to]) => Math.max(0, Math.min(end, to) - Math.max(start, from))));
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function requireTime(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(field, `must be a finite number of ms >= 0, got ${String(value)}`);
  }
  return value;
}

function requirePair(value: unknown, field: string): [number, number | null] {
  if (!Array.isArray(value) || value.length !== 2) throw new InvalidArgumentError(field, 'must be [start, end]');
  const start = requireTime(value[0], `${field}[0]`);
  const end = value[1] === null ? null : requireTime(value[1], `${field}[1]`);
  if (end !== null && end < start) throw new InvalidArgumentError(field, 'ends before it starts');
  return [start, end];
}

import type { ChaosCheckReport, FaultTarget } from '@bulwark/chaos-history';

// What the report shows, as plain JSON (no bigint, no Map): the chaos tool
// writes it into summary.json as `figures` and the page draws it. Times in
// seconds count from the first operation's invocation (the origin), on the
// history's monoMs clock; durations are in ms. A figure over no operations
// is null, never NaN.

/** Operations by how they ended. */
export interface OutcomeCounts {
  readonly ok: number;
  readonly failed: number;
  readonly unknown: number;
}

/** Operation classes whose latencies differ by nature: a lock acquire may wait seconds for a held lock. */
export type OperationClass = 'read' | 'write' | 'lock';
export type LatencyClass = 'all' | OperationClass;

/** Latency of the ok operations of a set, nearest-rank percentiles; null when the set has none. */
export interface LatencyFigures {
  readonly count: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

/** The p50 and p99 latency of each bucket's ok operations (null: none completed in it). */
export interface LatencySeries {
  readonly p50Ms: readonly (number | null)[];
  readonly p99Ms: readonly (number | null)[];
}

/**
 * Operations per bucket of `bucketSeconds` from the origin: ok and failed
 * ones counted in the bucket they completed in, unknown ones in the bucket
 * they were invoked in (they never complete); latencies of the ok ones
 * completed in the bucket.
 */
export interface Timeline {
  /** 1 unless the run is longer than timelineBucketsMax seconds. */
  readonly bucketSeconds: number;
  /** Each bucket's start. */
  readonly seconds: readonly number[];
  readonly ok: readonly number[];
  readonly failed: readonly number[];
  readonly unknown: readonly number[];
  readonly latency: { readonly [C in Exclude<LatencyClass, 'lock'>]: LatencySeries };
}

export interface FaultFigures {
  readonly faultId: number;
  readonly kind: string;
  readonly detail: string;
  /** As the fault began. */
  readonly targets: readonly FaultTarget[];
  /** The first target was its group's primary when the fault began. */
  readonly onPrimary: boolean;
  readonly startSecond: number;
  /** null: never healed; the window lasts to the end of the history. */
  readonly endSecond: number | null;
  readonly lengthMs: number | null;
  /**
   * For a fault on a primary: from its start to the first completion of an
   * ok write (put, delete, cas, txn) acknowledged by the first target's
   * group and invoked at or after the start. null: no such write, or not on
   * a primary.
   */
  readonly failoverMs: number | null;
  /** Operations invoked from its start to its end, by how they ended. */
  readonly during: OutcomeCounts;
}

/** Of the operations invoked in a set of periods, the share that completed ok (an answer, whatever it said). */
export interface SuccessFigures {
  readonly operations: number;
  readonly ok: number;
  /** ok / operations; null with no operations. */
  readonly rate: number | null;
}

/** Operations invoked inside fault windows, or outside every one. */
export interface PeriodFigures {
  readonly success: SuccessFigures;
  readonly latency: { readonly [C in LatencyClass]: LatencyFigures };
}

/** Over the faults on a primary: how long writes to the group stopped. */
export interface FailoverFigures {
  readonly faultsOnPrimary: number;
  /** Of those, the faults after whose start the group acknowledged a write. */
  readonly writesResumed: number;
  readonly p50Ms: number | null;
  readonly maxMs: number | null;
}

export interface AsyncLossFigures {
  readonly asyncWritesChecked: number;
  readonly asyncWritesLost: number;
  readonly asyncWritesLostWithinWindow: number;
}

export type CheckerName = Exclude<keyof ChaosCheckReport, 'anomalyCount'>;

export interface CheckerFigures {
  readonly checker: CheckerName;
  /** What it checks, for people. */
  readonly title: string;
  /** All it found. */
  readonly anomalyCount: number;
  /** Of those, the ones the report kept (and lists in `anomalies`). */
  readonly anomaliesKept: number;
}

export interface AnomalyFigures {
  readonly checker: CheckerName;
  readonly kind: string;
  readonly description: string;
  /** The smallest sub-history that shows it, as lines of a history file: check it again with the chaos-history lib. */
  readonly recordLines: readonly string[];
}

export interface ChecksFigures {
  /** Every checker's count added up: 0 when the run showed nothing wrong. */
  readonly anomalyCount: number;
  /** Keys the linearizability search gave up on: neither passed nor failed. */
  readonly undecidedKeys: number;
  readonly checkers: readonly CheckerFigures[];
}

export interface ReportFigures {
  /** monoMs of the first operation's invocation: second 0 (without operations, the first record's). */
  readonly originMonoMs: number;
  /** wallMs of the same record, for people; null for an empty history. */
  readonly originWallMs: number | null;
  /** From the origin to the last operation or fault record. */
  readonly durationSeconds: number;
  readonly operations: OutcomeCounts & { readonly total: number };
  readonly timeline: Timeline;
  /** In start order. */
  readonly faults: readonly FaultFigures[];
  readonly inFaults: PeriodFigures;
  readonly outsideFaults: PeriodFigures;
  readonly failovers: FailoverFigures;
  readonly asyncWriteLoss: AsyncLossFigures;
  readonly checks: ChecksFigures;
  /** The anomalies each checker kept, checker by checker. */
  readonly anomalies: readonly AnomalyFigures[];
}

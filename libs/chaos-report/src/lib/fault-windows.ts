import { groupOf, type ChaosFault, type ChaosOperation } from '@bulwark/chaos-history';
import type { FaultFigures, OutcomeCounts } from './figures';
import { lowerBound, upperBound } from './sorted-numbers';

// The faults on the operations' time line: which operations were invoked
// during each fault (and during any), and how long a group whose primary a
// fault hit took to acknowledge a write again. Operations come sorted by
// invocation, and every question is a binary search, so a history of 10^6
// operations and hundreds of faults costs O((n + f) log n).

/** A fault's window on the monoMs clock, from start to end inclusive; one never healed lasts to the history's end. */
export interface FaultWindow {
  readonly fault: ChaosFault;
  readonly startMs: number;
  readonly endMs: number;
}

export function faultWindows(faults: readonly ChaosFault[], historyEndMs: number): FaultWindow[] {
  return faults.map((fault) => ({
    fault,
    startMs: fault.start.monoMs,
    endMs: fault.end?.monoMs ?? Math.max(historyEndMs, fault.start.monoMs),
  }));
}

/** Whether a time falls inside any window: the windows merged into disjoint intervals, searched by start. */
export class FaultCover {
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;

  constructor(windows: readonly FaultWindow[]) {
    const merged: { startMs: number; endMs: number }[] = [];
    for (const { startMs, endMs } of [...windows].sort((a, b) => a.startMs - b.startMs)) {
      const last = merged.at(-1);
      if (last !== undefined && startMs <= last.endMs) last.endMs = Math.max(last.endMs, endMs);
      else merged.push({ startMs, endMs });
    }
    this.starts = Float64Array.from(merged, ({ startMs }) => startMs);
    this.ends = Float64Array.from(merged, ({ endMs }) => endMs);
  }

  covers(ms: number): boolean {
    // The last interval starting at or before ms.
    const index = upperBound(this.starts, ms) - 1;
    return index >= 0 && ms <= (this.ends[index] as number);
  }
}

/** Outcome counts of the operations invoked in any time range, from prefix sums over invocation order. */
class InvocationCounts {
  private readonly invokedMs: Float64Array;
  private readonly okBefore: Uint32Array;
  private readonly failedBefore: Uint32Array;

  constructor(byInvocation: readonly ChaosOperation[]) {
    this.invokedMs = Float64Array.from(byInvocation, (operation) => operation.invokedMs);
    this.okBefore = new Uint32Array(byInvocation.length + 1);
    this.failedBefore = new Uint32Array(byInvocation.length + 1);
    byInvocation.forEach((operation, index) => {
      this.okBefore[index + 1] = (this.okBefore[index] as number) + (operation.outcome === 'ok' ? 1 : 0);
      this.failedBefore[index + 1] = (this.failedBefore[index] as number) + (operation.outcome === 'fail' ? 1 : 0);
    });
  }

  /** Invoked from startMs to endMs inclusive. */
  between(startMs: number, endMs: number): OutcomeCounts {
    const from = lowerBound(this.invokedMs, startMs);
    const to = upperBound(this.invokedMs, endMs);
    const ok = (this.okBefore[to] as number) - (this.okBefore[from] as number);
    const failed = (this.failedBefore[to] as number) - (this.failedBefore[from] as number);
    return { ok, failed, unknown: to - from - ok - failed };
  }
}

/** Each group's ok writes, to find the first it completed of those invoked from some time on. */
class OkWritesByGroup {
  private readonly groups = new Map<
    string,
    {
      readonly invokedMs: Float64Array;
      /** The earliest completion among the write at this index and those invoked after it. */
      readonly firstCompletedMsFrom: Float64Array;
    }
  >();

  constructor(byInvocation: readonly ChaosOperation[]) {
    const writes = new Map<string, ChaosOperation[]>();
    for (const operation of byInvocation) {
      const group = groupOf(operation);
      if (group === null) continue;
      const ofGroup = writes.get(group);
      if (ofGroup) ofGroup.push(operation);
      else writes.set(group, [operation]);
    }
    for (const [group, operations] of writes) {
      const firstCompletedMsFrom = new Float64Array(operations.length);
      let earliest = Infinity;
      for (let index = operations.length - 1; index >= 0; index -= 1) {
        earliest = Math.min(earliest, (operations[index] as ChaosOperation).completedMs as number);
        firstCompletedMsFrom[index] = earliest;
      }
      const invokedMs = Float64Array.from(operations, (operation) => operation.invokedMs);
      this.groups.set(group, { invokedMs, firstCompletedMsFrom });
    }
  }

  /** When the group first completed an ok write invoked at or after fromMs; null if it never did. */
  firstCompletedMs(group: string, fromMs: number): number | null {
    const writes = this.groups.get(group);
    if (writes === undefined) return null;
    const first = lowerBound(writes.invokedMs, fromMs);
    return first < writes.invokedMs.length ? (writes.firstCompletedMsFrom[first] as number) : null;
  }
}

/** Each fault's figures; `byInvocation` sorted by invokedMs, times in seconds from originMs. */
export function faultFigures(
  windows: readonly FaultWindow[],
  byInvocation: readonly ChaosOperation[],
  originMs: number,
): FaultFigures[] {
  const counts = new InvocationCounts(byInvocation);
  const writes = new OkWritesByGroup(byInvocation);
  const seconds = (ms: number) => (ms - originMs) / 1_000;
  return windows.map(({ fault, startMs, endMs }) => {
    const target = fault.start.targets[0];
    const primaryGroup = target?.primary === true ? target.group : null;
    const writesResumedMs = primaryGroup === null ? null : writes.firstCompletedMs(primaryGroup, startMs);
    const end = fault.end?.monoMs ?? null;
    return {
      faultId: fault.faultId,
      kind: fault.kind,
      detail: fault.start.detail,
      targets: fault.start.targets,
      onPrimary: primaryGroup !== null,
      startSecond: seconds(startMs),
      endSecond: end === null ? null : seconds(end),
      lengthMs: end === null ? null : end - startMs,
      failoverMs: writesResumedMs === null ? null : writesResumedMs - startMs,
      during: counts.between(startMs, endMs),
    };
  });
}

import {
  asHistory,
  formatChaosRecord,
  type ChaosCheckReport,
  type ChaosOperation,
  type HistoryInput,
} from '@bulwark/chaos-history';
import { faultFigures, faultWindows, FaultCover } from './fault-windows';
import type {
  AnomalyFigures,
  CheckerName,
  FailoverFigures,
  FaultFigures,
  LatencyClass,
  PeriodFigures,
  ReportFigures,
} from './figures';
import { latencyMsOf, operationClassOf } from './operation-classes';
import { latencyFigures, nearestRank, sortedNumbers } from './sorted-numbers';
import { buildTimeline } from './timeline';

/** Every checker of the report, in the order the page lists them (a checker missing here does not compile). */
const checkerTitles: { readonly [C in CheckerName]: string } = {
  linearizability: 'Linearizability',
  lostSyncWrites: 'No acknowledged sync write lost',
  asyncWriteLoss: 'Async loss within its window',
  convergence: 'Replicas converge',
  lockMutualExclusion: 'Lock mutual exclusion',
  fencingTokenOrder: 'Fencing-token order',
  staleTokenWrites: 'Stale-token writes refused',
  writePositions: 'No acknowledged sync write lost from the log',
  readFreshness: 'Reads written before and fresh within their bound',
  transactionAtomicity: 'Transactions not torn',
};

/** Accumulates the operations invoked in one kind of period (in faults, or outside them). */
class PeriodTally {
  private operations = 0;
  private ok = 0;
  private readonly latencies: Record<LatencyClass, number[]> = { all: [], read: [], write: [], lock: [] };

  add(operation: ChaosOperation): void {
    this.operations += 1;
    if (operation.outcome !== 'ok') return;
    this.ok += 1;
    const latencyMs = latencyMsOf(operation);
    this.latencies.all.push(latencyMs);
    this.latencies[operationClassOf(operation)].push(latencyMs);
  }

  figures(): PeriodFigures {
    const { all, read, write, lock } = this.latencies;
    return {
      success: {
        operations: this.operations,
        ok: this.ok,
        rate: this.operations === 0 ? null : this.ok / this.operations,
      },
      latency: {
        all: latencyFigures(all),
        read: latencyFigures(read),
        write: latencyFigures(write),
        lock: latencyFigures(lock),
      },
    };
  }
}

function failoverFigures(faults: readonly FaultFigures[]): FailoverFigures {
  const onPrimary = faults.filter((fault) => fault.onPrimary);
  const times = sortedNumbers(onPrimary.flatMap((fault) => (fault.failoverMs === null ? [] : [fault.failoverMs])));
  return {
    faultsOnPrimary: onPrimary.length,
    writesResumed: times.length,
    p50Ms: nearestRank(times, 0.5),
    maxMs: nearestRank(times, 1),
  };
}

function anomalyFigures(report: ChaosCheckReport): AnomalyFigures[] {
  return (Object.keys(checkerTitles) as CheckerName[]).flatMap((checker) =>
    report[checker].anomalies.map((anomaly) => ({
      checker,
      kind: anomaly.kind,
      description: anomaly.description,
      recordLines: anomaly.records.map(formatChaosRecord),
    })),
  );
}

/**
 * The report's figures from a chaos history and its check report (see
 * figures.ts and the README for each definition). O(n log n) in the
 * operations: one sort by invocation, binary searches over the faults.
 */
export function reportFigures(input: HistoryInput, report: ChaosCheckReport): ReportFigures {
  const history = asHistory(input);
  // Recorders write in time order, but the format does not promise it.
  const byInvocation = [...history.operations].sort((a, b) => a.invokedMs - b.invokedMs);
  const originRecord = byInvocation[0]?.invoke ?? history.records[0];
  const originMs = originRecord?.monoMs ?? 0;
  // The final reads come after the workload stopped: the time line ends with its last operation or fault.
  let endMs = originMs;
  for (const record of history.records) {
    if (record.type !== 'final-read' && record.type !== 'final-read-failed') endMs = Math.max(endMs, record.monoMs);
  }
  const windows = faultWindows(history.faults, endMs);
  const cover = new FaultCover(windows);
  const inFaults = new PeriodTally();
  const outsideFaults = new PeriodTally();
  let ok = 0;
  let failed = 0;
  for (const operation of byInvocation) {
    (cover.covers(operation.invokedMs) ? inFaults : outsideFaults).add(operation);
    if (operation.outcome === 'ok') ok += 1;
    else if (operation.outcome === 'fail') failed += 1;
  }
  const faults = faultFigures(windows, byInvocation, originMs);
  const { asyncWritesChecked, asyncWritesLost, asyncWritesLostWithinWindow } = report.asyncWriteLoss;
  return {
    originMonoMs: originMs,
    originWallMs: originRecord?.wallMs ?? null,
    durationSeconds: (endMs - originMs) / 1_000,
    operations: { total: byInvocation.length, ok, failed, unknown: byInvocation.length - ok - failed },
    timeline: buildTimeline(byInvocation, originMs, endMs),
    faults,
    inFaults: inFaults.figures(),
    outsideFaults: outsideFaults.figures(),
    failovers: failoverFigures(faults),
    asyncWriteLoss: { asyncWritesChecked, asyncWritesLost, asyncWritesLostWithinWindow },
    checks: {
      anomalyCount: report.anomalyCount,
      undecidedKeys: report.linearizability.undecidedKeys.length,
      checkers: (Object.entries(checkerTitles) as [CheckerName, string][]).map(([checker, title]) => ({
        checker,
        title,
        anomalyCount: report[checker].anomalyCount,
        anomaliesKept: report[checker].anomalies.length,
      })),
    },
    anomalies: anomalyFigures(report),
  };
}

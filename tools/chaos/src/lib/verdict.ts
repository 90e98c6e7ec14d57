// What a chaos run's checks add up to. A run passes only when the checkers
// found no anomaly AND they had something to judge AND the fleet kept
// working: a run that checked nothing, could not decide a key, or left a
// group refusing writes after a fault would otherwise "pass" while showing
// nothing (a Jepsen-literate user's first question).
import type { ChaosCheckReport } from '@bulwark/chaos-history';
import type { ReportFigures } from '@bulwark/chaos-report';

export interface ChaosVerdictInput {
  readonly report: ChaosCheckReport;
  readonly figures: ReportFigures;
  /** What stopped the run before its end. */
  readonly failure?: string;
}

export interface ChaosVerdict {
  readonly passed: boolean;
  /** For people: one line each, the anomalies first (the first of each checker), then what kept it from passing. */
  readonly lines: readonly string[];
}

export function chaosVerdict({ report, figures, failure }: ChaosVerdictInput): ChaosVerdict {
  const lines = [`anomalies: ${report.anomalyCount}`];
  for (const [checker, checked] of Object.entries(report)) {
    if (typeof checked !== 'object' || checked.anomalyCount === 0) continue;
    lines.push(`  ${checker}: ${checked.anomalyCount}; the first: ${checked.anomalies[0]?.description ?? '-'}`);
  }
  const problems: string[] = [];
  if (failure !== undefined) problems.push(`the run stopped early: ${failure}`);
  const { faultsOnPrimary, writesResumed } = figures.failovers;
  if (writesResumed < faultsOnPrimary) {
    problems.push(
      `unavailable: after ${faultsOnPrimary - writesResumed} of ${faultsOnPrimary} faults on a primary, ` +
        'its group never acknowledged a write again',
    );
  }
  const { undecidedKeys } = report.linearizability;
  if (undecidedKeys.length > 0) {
    const keys = undecidedKeys.map(({ key }) => JSON.stringify(key)).join(', ');
    problems.push(`inconclusive: the linearizability search ran out of budget on ${keys}`);
  }
  if (report.lostSyncWrites.syncWritesChecked === 0) {
    problems.push('inconclusive: no acknowledged sync write to check against the final reads');
  }
  const { keysWithoutFinalRead } = report.lostSyncWrites;
  if (keysWithoutFinalRead.length > 0) {
    problems.push(
      `inconclusive: no final read of ${keysWithoutFinalRead.map((key) => JSON.stringify(key)).join(', ')}`,
    );
  }
  return { passed: report.anomalyCount === 0 && problems.length === 0, lines: [...lines, ...problems] };
}

import type { HistoryOperation, OperationKind, OperationResult } from '../lib/operation';

/**
 * An operation planned by a simulation: its interval, where it takes effect
 * (if it does) and what its recorded outcome will be. Results are filled in
 * by replaying the effective operations in linearization order on real
 * registers, so the history is linearizable by construction.
 */
export interface PlannedOperation {
  readonly client: string;
  readonly key: string;
  readonly op: OperationKind;
  /** put value or cas new value. */
  readonly value: string | null;
  /** For a cas: expect whatever the register holds when it takes effect (a cas that will swap). */
  readonly expectsCurrent: boolean;
  /** For a cas that does not expect the current value: what it expects instead. */
  readonly expect: string | null;
  readonly invokedMs: number;
  /** When it takes effect, within [invokedMs, completedMs]; null if it never does. */
  readonly linearizedMs: number | null;
  /** null when the outcome will be unknown. */
  readonly completedMs: number | null;
  /** fail is only for operations that never take effect. */
  readonly outcome: 'ok' | 'fail' | 'unknown';
}

/**
 * Runs the planned operations that take effect on one register per key, in
 * order of linearizedMs (ties in plan order), and returns the history as a
 * client would have recorded it, in plan order.
 */
export function replayOnRegisters(plan: readonly PlannedOperation[]): HistoryOperation[] {
  const history: HistoryOperation[] = plan.map((planned) => ({
    client: planned.client,
    key: planned.key,
    op: planned.op,
    value: planned.op === 'put' || planned.op === 'cas' ? planned.value : null,
    expect: planned.op === 'cas' ? planned.expect : null,
    result: null,
    invokedMs: planned.invokedMs,
    completedMs: planned.completedMs,
    outcome: planned.outcome,
  }));
  const registers = new Map<string, string | null>();
  const effective = plan
    .map((planned, index) => ({ planned, index }))
    .filter(({ planned }) => planned.linearizedMs !== null)
    .sort((a, b) => (a.planned.linearizedMs as number) - (b.planned.linearizedMs as number) || a.index - b.index);
  for (const { planned, index } of effective) {
    const current = registers.get(planned.key) ?? null;
    const recorded = history[index] as HistoryOperation;
    let { expect } = recorded;
    let result: OperationResult = null;
    if (planned.op === 'put' || planned.op === 'del') {
      registers.set(planned.key, recorded.value);
    } else if (planned.op === 'get') {
      result = current;
    } else {
      if (planned.expectsCurrent) expect = current;
      result = current === expect;
      if (result) registers.set(planned.key, recorded.value);
    }
    history[index] = { ...recorded, expect, result: planned.outcome === 'ok' ? result : null };
  }
  return history;
}

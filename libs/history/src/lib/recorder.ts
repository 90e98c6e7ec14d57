import { FailedPreconditionError, InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';
import { formatHistoryJsonLines } from './json-lines';
import {
  findProblem,
  type HistoryOperation,
  type OperationKind,
  type OperationResult,
  type Outcome,
} from './operation';

/** What a client is about to do. value and expect default to null. */
export interface Invocation {
  readonly client: string;
  readonly key: string;
  readonly op: OperationKind;
  readonly value?: string | null;
  readonly expect?: string | null;
}

/** Bounds a recorder's memory: a test that records more has a runaway loop. */
export const recordedOperationsMax = 1_000_000;

/** An invoked operation; report its outcome exactly once. */
export interface PendingOperation {
  /** It completed with this result (the value read, the cas outcome; nothing for put and del). */
  ok(result?: OperationResult): HistoryOperation;
  /** It definitely did not take effect. */
  fail(): HistoryOperation;
  /** Its outcome cannot be known (timeout, lost connection). */
  unknown(): HistoryOperation;
}

/**
 * Records client operations for a linearizability check. Time comes from the
 * injected clock, so tests control it; an operation never completed counts
 * as unknown (a client that crashed mid-call).
 */
export class HistoryRecorder {
  private readonly recorded: HistoryOperation[] = [];

  constructor(
    private readonly nowMs: () => number,
    private readonly operationsMax = recordedOperationsMax,
  ) {}

  invoke(invocation: Invocation): PendingOperation {
    if (this.recorded.length >= this.operationsMax) {
      throw new ResourceExhaustedError('operationsMax', `a recorder holds at most ${this.operationsMax} operations`);
    }
    const index = this.recorded.length;
    const invoked: HistoryOperation = {
      client: invocation.client,
      key: invocation.key,
      op: invocation.op,
      value: invocation.value ?? null,
      expect: invocation.expect ?? null,
      result: null,
      invokedMs: this.nowMs(),
      completedMs: null,
      outcome: 'unknown',
    };
    this.validate(invoked);
    this.recorded.push(invoked);
    let completed = false;
    const complete = (outcome: Outcome, result: OperationResult): HistoryOperation => {
      if (completed) throw new FailedPreconditionError('outcome', `operation ${index} already has an outcome`);
      const operation: HistoryOperation = {
        ...invoked,
        outcome,
        result,
        completedMs: outcome === 'unknown' ? null : this.nowMs(),
      };
      this.validate(operation);
      completed = true;
      this.recorded[index] = operation;
      return operation;
    };
    return {
      ok: (result = null) => complete('ok', result),
      fail: () => complete('fail', null),
      unknown: () => complete('unknown', null),
    };
  }

  /** Every operation so far, in invocation order; those without an outcome yet are unknown. */
  get operations(): readonly HistoryOperation[] {
    return [...this.recorded];
  }

  /** The history in the check-history file format (failed operations left out). */
  toJsonLines(): string {
    return formatHistoryJsonLines(this.recorded);
  }

  private validate(operation: HistoryOperation): void {
    const found = findProblem(operation);
    if (found) throw new InvalidArgumentError(found.field, found.problem);
  }
}

import { InvalidArgumentError } from '@bulwark/errors';

/** Why a check stopped before deciding. */
export type ExhaustionReason = 'steps' | 'deadline' | 'memo-bytes';

/**
 * How much work a check may do before it answers "undecided": linearizability
 * checking is NP-complete, and a pathological history must not hang a test
 * run or CI.
 */
export interface CheckBudget {
  /** Search steps over the whole check (every key, and shrinking a failure); default defaultStepsMax. */
  readonly stepsMax?: number;
  /** Stop at `atMs` on the injected clock `nowMs` (read every clockCheckSteps steps). */
  readonly deadline?: { readonly atMs: number; readonly nowMs: () => number };
  /** Estimated memory of one key's memo (visited configurations); default defaultMemoBytesMax. */
  readonly memoBytesMax?: number;
}

/**
 * About a minute of search on one core at about 1 us a step (measured on a
 * single-key history of 10,000 operations); a 10,000-operation history over
 * 100 keys needs tens of thousands of steps.
 */
export const defaultStepsMax = 50_000_000;
export const defaultMemoBytesMax = 256 * 1024 * 1024;
/** Reading a clock costs more than a step; every 1,024 steps bounds the overshoot to well under a millisecond. */
export const clockCheckSteps = 1024;

function requirePositiveInteger(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(field, `must be a positive integer, got ${value}`);
  }
}

/** Counts the steps of every search in one check against the budget. */
export class SearchBudget {
  private stepsUsed = 0;
  private exhaustion: ExhaustionReason | null = null;
  private readonly stepsMax: number;
  readonly memoBytesMax: number;

  constructor(private readonly budget: CheckBudget = {}) {
    this.stepsMax = budget.stepsMax ?? defaultStepsMax;
    this.memoBytesMax = budget.memoBytesMax ?? defaultMemoBytesMax;
    requirePositiveInteger('budget.stepsMax', this.stepsMax);
    requirePositiveInteger('budget.memoBytesMax', this.memoBytesMax);
    if (budget.deadline && !Number.isFinite(budget.deadline.atMs)) {
      throw new InvalidArgumentError('budget.deadline.atMs', `must be a finite number, got ${budget.deadline.atMs}`);
    }
  }

  get steps(): number {
    return this.stepsUsed;
  }

  /** Takes one step; returns null if it was granted, otherwise why the budget is exhausted. */
  spendStep(): ExhaustionReason | null {
    if (this.exhaustion === null) {
      const deadline = this.budget.deadline;
      if (this.stepsUsed >= this.stepsMax) this.exhaustion = 'steps';
      else if (deadline && this.stepsUsed % clockCheckSteps === 0 && deadline.nowMs() >= deadline.atMs) {
        this.exhaustion = 'deadline';
      } else this.stepsUsed += 1;
    }
    return this.exhaustion;
  }

  /** Records that a search stopped because its memo reached memoBytesMax; later steps are refused too. */
  exhaustMemo(): void {
    this.exhaustion = 'memo-bytes';
  }
}

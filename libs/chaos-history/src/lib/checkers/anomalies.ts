import { InvalidArgumentError } from '@bulwark/errors';
import type { ChaosOperation } from '../history-index';
import type { ChaosRecord } from '../records';

/** Something a checker found wrong, with the records that show it. */
export interface Anomaly<Kind extends string> {
  readonly kind: Kind;
  /** One line for a person, naming operations by opId and times in monoMs. */
  readonly description: string;
  /** The smallest sub-history the checker found that shows it, in history order. */
  readonly records: readonly ChaosRecord[];
}

/** What every checker returns, besides its own counts. */
export interface CheckerResult<A extends Anomaly<string>> {
  /** The first anomaliesMax found. */
  readonly anomalies: readonly A[];
  /** All found, also those not kept. */
  readonly anomalyCount: number;
}

/** A broken run can have an anomaly per operation; a report needs the first few and the count. */
export const defaultAnomaliesMax = 100;

/** Keeps the first `max` anomalies and counts them all. */
export class AnomalyList<A extends Anomaly<string>> {
  private readonly kept: A[] = [];
  private found = 0;

  constructor(private readonly max = defaultAnomaliesMax) {
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new InvalidArgumentError('anomaliesMax', `must be an integer of at least 0, got ${max}`);
    }
  }

  add(anomaly: A): void {
    this.found += 1;
    if (this.kept.length < this.max) this.kept.push(anomaly);
  }

  result(): CheckerResult<A> {
    return { anomalies: [...this.kept], anomalyCount: this.found };
  }
}

/** An operation as a description names it: `put #12 by c3`. */
export function nameOf(operation: ChaosOperation): string {
  return `${operation.kind} #${operation.opId} by ${operation.client}`;
}

/** A value as a description shows it: quoted, or "absent". */
export function showValue(value: string | null): string {
  return value === null ? 'absent' : JSON.stringify(value);
}

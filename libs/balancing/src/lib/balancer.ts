import { UnavailableError } from '@bulwark/errors';
import { CandidatePool, type CandidateSpec } from './candidate-pool';

/**
 * Chooses a replica for each request. The caller marks candidates available
 * or not (from health checks) and reports every request's start and finish,
 * so strategies that weigh load see the real outstanding counts.
 */
export interface Balancer {
  /** The candidates' ids in the order given. */
  readonly candidateIds: readonly string[];
  /** The id of the candidate for the next request; UnavailableError when no candidate is available. */
  pick(): string;
  /** Unavailable candidates are skipped until marked available again. All start available. */
  setAvailable(id: string, available: boolean): void;
  /** A request to id was sent. */
  requestStarted(id: string): void;
  /** A request to id ended (answered, failed or timed out); FailedPreconditionError without a matching start. */
  requestFinished(id: string): void;
  /** Requests to id started and not yet finished. */
  outstanding(id: string): number;
}

/** Everything but the choice itself, which each strategy makes among the available candidates. */
export abstract class PoolBalancer implements Balancer {
  protected readonly pool: CandidatePool;

  constructor(candidates: readonly CandidateSpec[]) {
    this.pool = new CandidatePool(candidates);
  }

  get candidateIds(): readonly string[] {
    return this.pool.ids;
  }

  pick(): string {
    const available = this.pool.availableIndexes();
    if (available.length === 0) {
      throw new UnavailableError(`none of the ${this.pool.ids.length} candidates is available`);
    }
    return this.pool.ids[this.pickIndex(available)] as string;
  }

  setAvailable(id: string, available: boolean): void {
    this.pool.setAvailable(id, available);
  }

  requestStarted(id: string): void {
    this.pool.recordStart(id);
  }

  requestFinished(id: string): void {
    this.pool.recordFinish(id);
  }

  outstanding(id: string): number {
    return this.pool.outstanding(id);
  }

  /** Returns one of available (candidate indexes, ascending, never empty). */
  protected abstract pickIndex(available: readonly number[]): number;
}

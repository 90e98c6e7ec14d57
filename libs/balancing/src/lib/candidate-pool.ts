import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';

/** One replica a balancer may choose. */
export interface CandidateSpec {
  /** Unique among the candidates, 1 to candidateIdLengthMax characters. */
  readonly id: string;
  /** Relative share for the smooth weighted strategy, an integer from 1 to candidateWeightMax; 1 when absent. */
  readonly weight?: number;
}

export const candidatesMax = 1024;
export const candidateIdLengthMax = 256;
export const candidateWeightMax = 1000;

/**
 * The fixed set of candidates behind one balancer, in the order given, with
 * what every strategy may look at: weight, whether the caller marked it
 * available, and how many of its requests are outstanding (started and not
 * yet finished). A change of the candidate set is a new balancer.
 */
export class CandidatePool {
  readonly ids: readonly string[];
  readonly weights: readonly number[];
  private readonly indexById: ReadonlyMap<string, number>;
  private readonly availability: boolean[];
  private readonly outstandingCounts: number[];
  /** Indexes of the available candidates, ascending; rebuilt only when availability changes. */
  private availableIndexesCache: readonly number[];

  constructor(candidates: readonly CandidateSpec[]) {
    checkCandidates(candidates);
    this.ids = candidates.map((candidate) => candidate.id);
    this.weights = candidates.map((candidate) => candidate.weight ?? 1);
    this.indexById = new Map(this.ids.map((id, index) => [id, index]));
    this.availability = candidates.map(() => true);
    this.outstandingCounts = candidates.map(() => 0);
    this.availableIndexesCache = this.ids.map((_, index) => index);
  }

  availableIndexes(): readonly number[] {
    return this.availableIndexesCache;
  }

  setAvailable(id: string, available: boolean): void {
    this.availability[this.indexOf(id)] = available;
    this.availableIndexesCache = this.ids.map((_, index) => index).filter((index) => this.availability[index]);
  }

  outstandingAt(index: number): number {
    return this.outstandingCounts[index] ?? 0;
  }

  outstanding(id: string): number {
    return this.outstandingAt(this.indexOf(id));
  }

  recordStart(id: string): void {
    const index = this.indexOf(id);
    this.outstandingCounts[index] = this.outstandingAt(index) + 1;
  }

  recordFinish(id: string): void {
    const index = this.indexOf(id);
    const outstanding = this.outstandingAt(index);
    if (outstanding === 0) {
      // A finish without its start would make the count lie to every later pick.
      throw new FailedPreconditionError('id', `'${id}' has no outstanding request to finish`);
    }
    this.outstandingCounts[index] = outstanding - 1;
  }

  private indexOf(id: string): number {
    const index = this.indexById.get(id);
    if (index === undefined) {
      throw new NotFoundError('id', `'${id}' is not a candidate`);
    }
    return index;
  }
}

function checkCandidates(candidates: readonly CandidateSpec[]): void {
  if (candidates.length === 0 || candidates.length > candidatesMax) {
    throw new InvalidArgumentError(
      'candidates',
      `must list 1 to ${candidatesMax} candidates, got ${candidates.length}`,
    );
  }
  const indexById = new Map<string, number>();
  candidates.forEach((candidate, index) => {
    const { id, weight = 1 } = candidate;
    if (typeof id !== 'string' || id.length === 0 || id.length > candidateIdLengthMax) {
      throw new InvalidArgumentError(
        `candidates[${index}].id`,
        `must be a string of 1 to ${candidateIdLengthMax} characters`,
      );
    }
    const earlier = indexById.get(id);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(`candidates[${index}].id`, `duplicates candidates[${earlier}].id '${id}'`);
    }
    indexById.set(id, index);
    if (!Number.isInteger(weight) || weight < 1 || weight > candidateWeightMax) {
      throw new InvalidArgumentError(
        `candidates[${index}].weight`,
        `must be an integer from 1 to ${candidateWeightMax}, got ${String(weight)}`,
      );
    }
  });
}

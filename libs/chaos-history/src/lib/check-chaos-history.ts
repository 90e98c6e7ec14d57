import { asHistory, type HistoryInput } from './history-index';
import { checkConvergence, type ConvergenceResult } from './checkers/convergence';
import { checkStaleTokenWrites, type StaleTokenWritesResult } from './checkers/fenced-writes';
import {
  checkChaosLinearizability,
  type LinearizabilityOptions,
  type LinearizabilityResult,
} from './checkers/linearizability';
import {
  checkFencingTokenOrder,
  checkLockMutualExclusion,
  type MutualExclusionResult,
  type TokenOrderResult,
} from './checkers/locks';
import {
  checkAsyncWriteLoss,
  checkLostSyncWrites,
  type AsyncLossResult,
  type AsyncLossWindow,
  type LostSyncWritesResult,
} from './checkers/lost-writes';
import { checkWritePositions, type WritePositionsResult } from './checkers/write-positions';
import { checkReadFreshness, type ReadFreshnessOptions, type ReadFreshnessResult } from './checkers/read-freshness';
import { checkTransactionAtomicity, type TransactionAtomicityResult } from './checkers/transaction-atomicity';

export interface ChaosCheckOptions {
  /** The documented window of async loss around a fault on a primary. */
  readonly asyncLossWindow: AsyncLossWindow;
  readonly linearizability?: Omit<LinearizabilityOptions, 'anomaliesMax'>;
  /** slackMs added to every bounded read's bound (defaultReadSlackMs). */
  readonly readFreshness?: Omit<ReadFreshnessOptions, 'anomaliesMax'>;
  /** Anomalies each checker keeps (it counts them all). */
  readonly anomaliesMax?: number;
}

export interface ChaosCheckReport {
  readonly linearizability: LinearizabilityResult;
  readonly lostSyncWrites: LostSyncWritesResult;
  readonly asyncWriteLoss: AsyncLossResult;
  readonly convergence: ConvergenceResult;
  readonly lockMutualExclusion: MutualExclusionResult;
  readonly fencingTokenOrder: TokenOrderResult;
  readonly staleTokenWrites: StaleTokenWritesResult;
  readonly writePositions: WritePositionsResult;
  readonly readFreshness: ReadFreshnessResult;
  readonly transactionAtomicity: TransactionAtomicityResult;
  /** Every checker's anomalyCount added up: 0 when the run showed nothing wrong (see also linearizability.undecidedKeys). */
  readonly anomalyCount: number;
}

/** Runs every checker over one history, indexed once. */
export function checkChaosHistory(input: HistoryInput, options: ChaosCheckOptions): ChaosCheckReport {
  const history = asHistory(input);
  const { anomaliesMax } = options;
  const results = {
    linearizability: checkChaosLinearizability(history, { ...options.linearizability, anomaliesMax }),
    lostSyncWrites: checkLostSyncWrites(history, { anomaliesMax }),
    asyncWriteLoss: checkAsyncWriteLoss(history, { window: options.asyncLossWindow, anomaliesMax }),
    convergence: checkConvergence(history, { anomaliesMax }),
    lockMutualExclusion: checkLockMutualExclusion(history, { anomaliesMax }),
    fencingTokenOrder: checkFencingTokenOrder(history, { anomaliesMax }),
    staleTokenWrites: checkStaleTokenWrites(history, { anomaliesMax }),
    writePositions: checkWritePositions(history, { anomaliesMax }),
    readFreshness: checkReadFreshness(history, { ...options.readFreshness, anomaliesMax }),
    transactionAtomicity: checkTransactionAtomicity(history, { anomaliesMax }),
  };
  const anomalyCount = Object.values(results).reduce((sum, result) => sum + result.anomalyCount, 0);
  return { ...results, anomalyCount };
}

// The core's output (etcd-raft's Ready). The runner handles one at a time:
//   1. if `discardState`, drop the applied state, the snapshot and the log
//      (a truncation went below what was applied: only writes a failover
//      lost, acknowledged asynchronously, can cause it);
//   2. send `sendBeforePersist` (a primary's entries: sending them promises
//      nothing, so backups write while the primary does);
//   3. apply `committed` to the state machine, answer the writers waiting on
//      them, and fail the writers at or after `abandonedFrom`;
//   4. make `persist` durable;
//   5. send `messages` (acknowledgements report what `persist` holds);
//   6. start `fetchSnapshot`, without waiting;
//   7. call ReplicaNode.advance().
// Coordinator requests (lease renewals, in-sync changes) promise nothing a
// write holds, so they are not in a Ready: the runner takes them after every
// input (ReplicaNode.takeCoordinatorRequests), never behind a slow disk.
import type { LogEntry, ReplicationMessage } from './messages';

export interface PersistBatch {
  /** Drop every entry above this sequence first: a returning member's divergent suffix. */
  readonly truncateAfter?: bigint;
  /** Consecutive entries that follow the log after the truncation. */
  readonly entries: readonly LogEntry[];
  /** The newest epoch this member has seen, raised only. */
  readonly highestEpoch?: bigint;
  /** The newest epoch this member became primary of: it never leads the same epoch twice. */
  readonly ledEpoch?: bigint;
}

export interface Ready {
  readonly discardState: boolean;
  readonly sendBeforePersist: readonly ReplicationMessage[];
  /** Committed entries to apply, contiguous, in sequence order. */
  readonly committed: readonly LogEntry[];
  /** This member stopped being primary: writes it took from this sequence on have no known outcome. */
  readonly abandonedFrom: bigint | undefined;
  readonly persist: PersistBatch | undefined;
  readonly messages: readonly ReplicationMessage[];
  /** Fetch the primary's snapshot, install it, then call ReplicaNode.snapshotInstalled. */
  readonly fetchSnapshot: { readonly from: string; readonly epoch: bigint } | undefined;
}

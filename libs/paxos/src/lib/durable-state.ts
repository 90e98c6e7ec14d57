// What a Paxos node keeps across crashes, and the batches in which it hands
// changes to it to the runner.
import { zeroBallot, type Ballot } from './ballot';
import type { AcceptedEntry, Entry, Snapshot } from './messages';

/** What survives a crash: acceptor state, learned values, commit point, snapshot. */
export interface DurableState {
  promised: Ballot;
  accepted: AcceptedEntry[];
  chosen: Entry[];
  commitSlot: bigint;
  snapshot: Snapshot | undefined;
}

export const emptyDurableState: DurableState = {
  promised: zeroBallot,
  accepted: [],
  chosen: [],
  commitSlot: 0n,
  snapshot: undefined,
};

/** Changes to make durable before the dependent messages of the same Ready are sent. */
export interface PersistBatch {
  promised?: Ballot;
  accepted: AcceptedEntry[];
  chosen: Entry[];
  commitSlot?: bigint;
  /** Replaces every slot up to snapshot.lastSlot. */
  snapshot?: Snapshot;
}

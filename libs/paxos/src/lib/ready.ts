// The core's output (etcd-raft's Ready) and the builder the node fills as
// events arrive. The runner handles one Ready at a time:
//   1. send `sendBeforePersist` (it promises nothing a crash could forget);
//   2. restore `snapshotToApply` and apply `committed` (chosen values,
//      durable on a majority already: they need not wait for this write);
//   3. make `persist` durable;
//   4. send `messages`, which report or promise what `persist` holds;
//   5. call PaxosNode.advance(): the leader's own votes for what it wrote
//      count, and the applied slot (on which local reads are decided) moves.
import type { PersistBatch } from './durable-state';
import type { Entry, Message, Snapshot } from './messages';

export interface Ready {
  persist: PersistBatch | undefined;
  /**
   * A leader's phase-2 proposals in a ballot whose promise is already
   * durable: a proposal is not a vote, so peers may accept while the
   * leader's own write is in flight (its vote counts after advance()).
   */
  sendBeforePersist: Message[];
  /** Only once `persist` is durable: they report or promise what it holds. */
  messages: Message[];
  /** Restore the state machine from this before applying `committed` (it may precede the write). */
  snapshotToApply: Snapshot | undefined;
  /** Newly committed entries, contiguous and in slot order. */
  committed: Entry[];
}

export class ReadyBuilder {
  private ready: Ready = ReadyBuilder.empty();

  private static empty(): Ready {
    return { persist: undefined, sendBeforePersist: [], messages: [], snapshotToApply: undefined, committed: [] };
  }

  get isEmpty(): boolean {
    const ready = this.ready;
    return (
      ready.persist === undefined &&
      ready.sendBeforePersist.length === 0 &&
      ready.messages.length === 0 &&
      ready.snapshotToApply === undefined &&
      ready.committed.length === 0
    );
  }

  persisting(): PersistBatch {
    this.ready.persist ??= { accepted: [], chosen: [] };
    return this.ready.persist;
  }

  send(message: Message): void {
    this.ready.messages.push(message);
  }

  sendBeforePersist(message: Message): void {
    this.ready.sendBeforePersist.push(message);
  }

  commit(entry: Entry): void {
    this.ready.committed.push(entry);
  }

  /** The state machine restarts from `snapshot`; entries it covers need not be applied. */
  restore(snapshot: Snapshot): void {
    this.ready.snapshotToApply = snapshot;
    this.ready.committed = this.ready.committed.filter((entry) => entry.slot > snapshot.lastSlot);
  }

  take(): Ready {
    const ready = this.ready;
    this.ready = ReadyBuilder.empty();
    return ready;
  }
}

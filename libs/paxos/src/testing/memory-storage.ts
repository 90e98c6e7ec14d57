// The in-memory double of durable Paxos storage: applies persist batches
// exactly as the disk store must (snapshot first, then promise, accepted,
// chosen, commit point) and hands the state back after a crash.
import type { DurableState, PersistBatch } from '../lib/node';
import type { AcceptedEntry, Entry } from '../lib/messages';
import { emptyDurableState } from '../lib/node';

export class MemoryStorage {
  private state: DurableState = { ...emptyDurableState };
  private readonly accepted = new Map<bigint, AcceptedEntry>();
  private readonly chosen = new Map<bigint, Entry>();

  apply(batch: PersistBatch): void {
    if (batch.snapshot) {
      const last = batch.snapshot.lastSlot;
      this.state.snapshot = batch.snapshot;
      for (const slot of [...this.accepted.keys()]) if (slot <= last) this.accepted.delete(slot);
      for (const slot of [...this.chosen.keys()]) if (slot <= last) this.chosen.delete(slot);
    }
    if (batch.promised) this.state.promised = batch.promised;
    for (const entry of batch.accepted) this.accepted.set(entry.slot, entry);
    for (const entry of batch.chosen) this.chosen.set(entry.slot, entry);
    if (batch.commitSlot !== undefined) this.state.commitSlot = batch.commitSlot;
  }

  /** What a restarted node recovers. */
  recover(): DurableState {
    return {
      ...this.state,
      accepted: [...this.accepted.values()],
      chosen: [...this.chosen.values()],
    };
  }
}

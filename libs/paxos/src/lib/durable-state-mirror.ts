// The one definition of what persisting a batch means: applied in memory,
// snapshot first, then promise, accepted, chosen and commit point. The
// in-memory storage double is exactly this; the disk store keeps one too, to
// rewrite its log after a snapshot, and recovery rebuilds one by replaying
// records. Maps keep first-insertion order, so entries come back in the
// order they were first persisted.
import type { AcceptedEntry, Entry } from './messages';
import { emptyDurableState, type DurableState, type PersistBatch } from './durable-state';

export class DurableStateMirror {
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

  toDurableState(): DurableState {
    return { ...this.state, accepted: [...this.accepted.values()], chosen: [...this.chosen.values()] };
  }
}

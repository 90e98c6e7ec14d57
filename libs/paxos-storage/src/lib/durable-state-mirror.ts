// The durable state held in memory, applied batch by batch exactly as
// MemoryStorage applies them (snapshot first, then promise, accepted, chosen,
// commit point). Storage needs it to write a WAL that holds the whole state
// after a snapshot; recovery rebuilds it by replaying records. Maps keep
// first-insertion order, like MemoryStorage's, so both return entries in the
// same order.
import {
  emptyDurableState,
  type AcceptedEntry,
  type DurableState,
  type Entry,
  type PersistBatch,
} from '@bulwark/paxos';
import type { LogBatch } from './batch-codec';

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

  /** Everything but the snapshot, as one batch that rebuilds it when replayed after the snapshot. */
  toLogBatch(): LogBatch {
    const { promised, commitSlot } = this.state;
    return { promised, accepted: [...this.accepted.values()], chosen: [...this.chosen.values()], commitSlot };
  }
}

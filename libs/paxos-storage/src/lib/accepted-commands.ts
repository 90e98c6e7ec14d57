// The accepted command of each slot as a replay of the WAL up to some record
// holds it: what a chosen entry stored as "the accepted value" in the next
// record means. The writer keeps one to decide when a chosen entry may be
// stored that way, and recovery keeps one to resolve such entries; both
// apply the same batches in the same order, so they agree. It is the accepted
// half of DurableStateMirror, kept apart because the mirror offers no lookup
// by slot (toDurableState copies the whole state).
import type { AcceptedEntry, DurableState, PersistBatch } from '@bulwark/paxos';

export class AcceptedCommands {
  private readonly bySlot = new Map<bigint, Uint8Array>();

  static of(state: DurableState): AcceptedCommands {
    const commands = new AcceptedCommands();
    for (const entry of state.accepted) commands.bySlot.set(entry.slot, entry.command);
    return commands;
  }

  /** As DurableStateMirror.apply does to accepted entries: the snapshot drops the slots it covers, then the batch's are set. */
  apply(batch: Pick<PersistBatch, 'snapshot' | 'accepted'>): void {
    const snapshot = batch.snapshot;
    if (snapshot) for (const slot of [...this.bySlot.keys()]) if (slot <= snapshot.lastSlot) this.bySlot.delete(slot);
    for (const entry of batch.accepted) this.bySlot.set(entry.slot, entry.command);
  }

  /**
   * The accepted command of `slot` once `accepted` (one batch's entries) is
   * applied on top: what a chosen entry of that batch is compared with, since
   * a batch is applied accepted entries first, then chosen ones.
   */
  lookupWith(accepted: readonly AcceptedEntry[]): (slot: bigint) => Uint8Array | undefined {
    const inBatch = new Map(accepted.map((entry) => [entry.slot, entry.command]));
    return (slot) => inBatch.get(slot) ?? this.bySlot.get(slot);
  }
}

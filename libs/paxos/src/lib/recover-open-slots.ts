// Paxos phase 1's rule for a new leader: for every slot from firstSlot on,
// the value accepted in the highest ballot among a majority's promises, a
// value this node knows chosen, or a no-op for a gap. The slot after the
// last one becomes the leader's barrier.
import { compareBallots } from './ballot';
import type { AcceptedEntry, PromiseReply } from './messages';

export interface OpenSlots {
  /** The last slot anything was accepted or chosen at (firstSlot - 1 when none). */
  lastSlot: bigint;
  /** The value to propose at every slot from firstSlot through lastSlot. */
  values: Map<bigint, Uint8Array>;
}

const noop = new Uint8Array(0);

export function recoverOpenSlots(
  promises: Iterable<PromiseReply>,
  firstSlot: bigint,
  chosen: ReadonlyMap<bigint, Uint8Array>,
): OpenSlots {
  const recovered = new Map<bigint, AcceptedEntry>();
  for (const promise of promises) {
    for (const entry of promise.accepted) {
      if (entry.slot < firstSlot) continue;
      const known = recovered.get(entry.slot);
      if (!known || compareBallots(entry.ballot, known.ballot) > 0) recovered.set(entry.slot, entry);
    }
  }
  let lastSlot = firstSlot - 1n;
  for (const slot of recovered.keys()) if (slot > lastSlot) lastSlot = slot;
  for (const slot of chosen.keys()) if (slot > lastSlot) lastSlot = slot;
  const values = new Map<bigint, Uint8Array>();
  for (let slot = firstSlot; slot <= lastSlot; slot++) {
    values.set(slot, chosen.get(slot) ?? recovered.get(slot)?.command ?? noop);
  }
  return { lastSlot, values };
}

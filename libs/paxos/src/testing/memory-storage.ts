// The in-memory double of durable Paxos storage: batches are applied exactly
// as the disk store applies them, and a restarted node recovers what was
// applied; nothing that was not persisted survives a crash.
import { DurableStateMirror } from '../lib/durable-state-mirror';
import type { DurableState } from '../lib/durable-state';

export class MemoryStorage extends DurableStateMirror {
  /** What a restarted node recovers. */
  recover(): DurableState {
    return this.toDurableState();
  }
}

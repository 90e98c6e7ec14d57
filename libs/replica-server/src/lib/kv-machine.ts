// The group log applied to the key-value state machine: entries carry
// encoded replication.v1.Commands (an empty one is an epoch's no-op).
import { KvState, type KvLimits, type Outcome } from '@bulwark/kv-state';
import type { LogEntry } from '@bulwark/replication';
import { decodeCommand } from '@bulwark/shard-codec';
import type { AppliedState } from './replica-runner';

/** Bytes of snapshot made between two turns of the event loop. */
const snapshotChunkBytes = 128 * 1024;

export class KvMachine implements AppliedState<Outcome> {
  private current: KvState;

  constructor(private readonly limits: Partial<KvLimits>) {
    this.current = new KvState(limits);
  }

  /** The state readers read: replaced on a restore or reset, so never hold on to it across awaits. */
  get state(): KvState {
    return this.current;
  }

  get appliedSequence(): bigint {
    return this.current.appliedSequence;
  }

  apply(entry: LogEntry): Outcome {
    // A command that does not decode came from our own disk or primary: corruption, fatal to the runner.
    return this.current.apply(entry.sequence, decodeCommand(entry.command));
  }

  reset(): void {
    this.current = new KvState(this.limits);
  }

  snapshotChunks(): Iterable<Uint8Array> {
    // Small chunks: the storage writes each before it asks for the next, so the event loop
    // (lease renewals, replication) runs between them.
    return this.current.snapshotChunks(snapshotChunkBytes);
  }

  restore(chunks: readonly Uint8Array[], lastSequence: bigint): void {
    const restored = KvState.restore(chunks, this.limits);
    if (restored.appliedSequence !== lastSequence) {
      throw new Error(
        `the snapshot's state is at ${restored.appliedSequence}, not at ${lastSequence} as its meta says`,
      );
    }
    this.current = restored;
  }
}

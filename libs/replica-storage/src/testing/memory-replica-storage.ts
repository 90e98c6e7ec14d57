// The in-memory twin of FileReplicaStorage, for simulators and unit tests:
// the same interface and the same rules (one ReplicaLogState checks both),
// with every accepted call durable at once. A reopen of a FileReplicaStorage
// after the same acknowledged calls recovers what recover() gives here.
import { crc32c, errorMessage, headerBytes, recordHeaderBytes } from '@bulwark/durable-log';
import { FailedPreconditionError, ResourceExhaustedError } from '@bulwark/errors';
import { MemoryStoredSnapshot } from '../lib/memory-snapshot';
import { checkSnapshotWithin, encodeBaseField, encodeBatchField, encodeBatchWithin } from '../lib/record-codec';
import { ReplicaLogState } from '../lib/replica-log-state';
import type {
  PersistBatch,
  RecoveredReplicaState,
  ReplicaStorage,
  SaveSnapshotOptions,
  SnapshotChunks,
  SnapshotMeta,
  SnapshotPoint,
  StoredSnapshot,
} from '../lib/replica-types';
import { snapshotMetaOf } from '../lib/snapshot-file';
import { resolveLimits, type ReplicaStorageLimits } from '../lib/storage-limits';

interface Durable {
  state: ReplicaLogState;
  snapshot: { meta: SnapshotMeta; data: Uint8Array } | undefined;
}

export class MemoryReplicaStorage implements ReplicaStorage {
  private readonly limits: ReplicaStorageLimits;
  private failure: string | undefined;
  private injectedFailure: Error | undefined;
  private closed = false;
  private savingSnapshot = false;
  private durable: Durable = { state: new ReplicaLogState({ keepEntries: true }), snapshot: undefined };
  private estimatedWalBytes: number;

  /** A new, empty store. Only recordBytesMax and snapshotBytesMax apply: nothing is ever pending here. */
  constructor(options: Partial<ReplicaStorageLimits> = {}) {
    this.limits = resolveLimits(options);
    this.estimatedWalBytes = this.walBytesOfLog();
  }

  /** What a restarted member recovers: what a FileReplicaStorage reopened after the same calls gives. */
  recover(): RecoveredReplicaState {
    if (this.savingSnapshot) throw new FailedPreconditionError('storage', 'a snapshot is being saved; await it first');
    const { state, snapshot } = this.durable;
    return {
      highestEpoch: state.highestEpoch,
      ledEpoch: state.ledEpoch,
      ...(snapshot && { snapshot: snapshot.meta }),
      entries: [...state.entries],
    };
  }

  /** A restart: a new store over the same durable state, usable again after an (injected) failure. */
  reopen(): { storage: MemoryReplicaStorage; recovered: RecoveredReplicaState } {
    const recovered = this.recover();
    this.closed = true;
    const storage = new MemoryReplicaStorage(this.limits);
    storage.durable = this.durable;
    storage.estimatedWalBytes = this.estimatedWalBytes;
    return { storage, recovered };
  }

  /** Makes the next accepted appendAsync or saveSnapshot fail with `error`, unapplied, and poison the store until reopen(). */
  failNextWrite(error: Error = new Error('EIO: i/o error, fdatasync (injected)')): void {
    this.injectedFailure = error;
  }

  /** About what a FileReplicaStorage's WAL would hold: every batch in a record of its own. */
  get walBytes(): number {
    return this.estimatedWalBytes;
  }

  async appendAsync(batch: PersistBatch): Promise<void> {
    this.checkUsable();
    this.durable.state.checkBatch(batch);
    const field = encodeBatchWithin(batch, this.limits.recordBytesMax);
    this.failIfInjected();
    // Copies, as the disk holds: a caller reusing its buffers cannot change what was stored.
    const entries = batch.entries.map((entry) => ({ ...entry, command: entry.command.slice() }));
    this.durable.state.applyBatch({ ...batch, entries });
    this.estimatedWalBytes += recordHeaderBytes + field.length;
  }

  async saveSnapshot(
    position: SnapshotPoint,
    chunks: SnapshotChunks,
    options: SaveSnapshotOptions,
  ): Promise<SnapshotMeta> {
    this.checkUsable();
    if (this.savingSnapshot) {
      throw new FailedPreconditionError('saveSnapshot', 'another snapshot is being saved; wait for it to finish');
    }
    const keep = options.keepEntriesFrom;
    this.durable.state.checkSnapshot(position, keep);
    checkSnapshotWithin(position, keep, this.limits.recordBytesMax);
    this.failIfInjected();
    // Takes effect now, in call order; the data follows as it is read.
    this.durable.state.applySnapshot(snapshotMetaOf(position, 0n, 0), keep);
    this.savingSnapshot = true;
    try {
      const parts: Uint8Array[] = [];
      let bytes = 0;
      let checksum = 0;
      for await (const chunk of chunks) {
        if (bytes + chunk.length > this.limits.snapshotBytesMax) {
          throw new ResourceExhaustedError(
            'snapshotBytesMax',
            `the snapshot's data passed the limit of ${this.limits.snapshotBytesMax} bytes`,
          );
        }
        parts.push(chunk.slice());
        bytes += chunk.length;
        checksum = crc32c(chunk, checksum);
      }
      const data = new Uint8Array(bytes);
      parts.reduce((offset, part) => (data.set(part, offset), offset + part.length), 0);
      const meta = snapshotMetaOf(position, BigInt(bytes), checksum);
      this.durable.snapshot = { meta, data };
      this.estimatedWalBytes = this.walBytesOfLog();
      return meta;
    } catch (error) {
      this.failure ??= errorMessage(error);
      throw error;
    } finally {
      this.savingSnapshot = false;
    }
  }

  openSnapshot(): StoredSnapshot | undefined {
    this.checkUsable();
    const snapshot = this.durable.snapshot;
    return snapshot && new MemoryStoredSnapshot(snapshot.meta, snapshot.data);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkUsable(): void {
    if (this.failure !== undefined) {
      throw new FailedPreconditionError('storage', `an earlier write failed (${this.failure}); reopen to recover`);
    }
    if (this.closed) throw new FailedPreconditionError('storage', 'closed');
  }

  private failIfInjected(): void {
    const error = this.injectedFailure;
    if (error === undefined) return;
    this.injectedFailure = undefined;
    this.failure = errorMessage(error);
    throw error;
  }

  private walBytesOfLog(): number {
    const { state } = this.durable;
    let bytes = headerBytes + recordHeaderBytes + encodeBaseField(state.base()).length;
    for (const entry of state.entries) bytes += encodeBatchField({ entries: [entry] }).length;
    return bytes;
  }
}

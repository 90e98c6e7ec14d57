// Durable acceptor state for a coordinator: the disk twin of MemoryStorage.
// The runner calls append(ready.persist) and only then sends ready.messages,
// so every promise and accept a peer hears of is on disk first. Synchronous
// on purpose: the batch is small, and nothing may be sent before it is
// durable, so there is nothing to overlap it with.
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FailedPreconditionError, ResourceExhaustedError } from '@bulwark/errors';
import type { DurableState, PersistBatch } from '@bulwark/paxos';
import { encodeLogBatch, encodeLogBatchInPieces, encodeSnapshot, logBatchOf, type LogBatch } from './batch-codec';
import type { DurableStateMirror } from '@bulwark/paxos';
import { makeDirectoryDurably, replaceFileAtomically, syncDirectory, writeFully } from './durable-files';
import { errorMessage } from './error-message';
import { encodeHeader, frameRecord, snapshotFileName, walFileName } from './file-format';
import { readStoredState } from './recovery';
import { resolveStorageLimits, type FilePaxosStorageOptions, type StorageLimits } from './storage-limits';

export interface RecoveryReport {
  /** Bytes of a torn last WAL record (an append a crash cut short, never acknowledged) that were cut off. */
  tornTailBytes: number;
  /** Temp files of a snapshot or WAL rewrite a crash interrupted before its rename, removed. */
  removedTempFiles: string[];
  /** A crash came between renaming a snapshot into place and rewriting the WAL after it; the rewrite was done now. */
  finishedInterruptedSnapshot: boolean;
}

export interface OpenedPaxosStorage {
  storage: FilePaxosStorage;
  /** What the Paxos node starts from: what MemoryStorage.recover() gives after the same acknowledged batches. */
  state: DurableState;
  recovery: RecoveryReport;
}

interface OpenWal {
  fd: number;
  bytes: number;
}

/** A new WAL holding `batch` (the whole live state), replacing the old one by atomic rename. */
function writeWal(directory: string, generation: bigint, batch: LogBatch, recordBytesMax: number): OpenWal {
  const records = encodeLogBatchInPieces(batch, recordBytesMax).map(frameRecord);
  return replaceFileAtomically(directory, walFileName, [encodeHeader('wal', generation), ...records]);
}

/** Opens the WAL for appending after its last valid record, cutting off a torn tail first. */
function continueWal(directory: string, validBytes: number, fileBytes: number): OpenWal {
  const fd = openSync(join(directory, walFileName), 'r+');
  try {
    if (validBytes < fileBytes) {
      ftruncateSync(fd, validBytes);
      fsyncSync(fd);
    }
    return { fd, bytes: validBytes };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

export class FilePaxosStorage {
  private wal: OpenWal | undefined;
  private compactAtBytes = 0;
  /** Why a write or fsync failed, once one has: what reached the disk is unknown, so only recovery (reopen) may go on. */
  private failure: string | undefined;

  private constructor(
    private readonly directory: string,
    private readonly limits: StorageLimits,
    private readonly mirror: DurableStateMirror,
    private generation: bigint,
    wal: OpenWal,
  ) {
    this.useWal(wal);
  }

  /**
   * Opens the store in `directory`, creating it if new, else recovering it.
   * Throws StorageCorruptionError when the files are damaged beyond a torn
   * last append: the coordinator must then refuse to start.
   */
  static open(directory: string, options: FilePaxosStorageOptions = {}): OpenedPaxosStorage {
    const limits = resolveStorageLimits(options);
    const absolute = resolve(directory);
    makeDirectoryDurably(absolute);
    const stored = readStoredState(absolute, limits);
    for (const name of stored.tempFiles) unlinkSync(join(absolute, name));
    if (stored.tempFiles.length > 0) syncDirectory(absolute);
    const wal = stored.wal
      ? continueWal(absolute, stored.wal.validBytes, stored.wal.fileBytes)
      : writeWal(absolute, stored.generation, logBatchOf(stored.mirror.toDurableState()), limits.recordBytesMax);
    const storage = new FilePaxosStorage(absolute, limits, stored.mirror, stored.generation, wal);
    const recovery: RecoveryReport = {
      tornTailBytes: stored.wal ? stored.wal.fileBytes - stored.wal.validBytes : 0,
      removedTempFiles: stored.tempFiles,
      finishedInterruptedSnapshot: stored.interruptedSnapshot,
    };
    return { storage, state: stored.mirror.toDurableState(), recovery };
  }

  /**
   * Makes `batch` durable before returning: one checksummed WAL record,
   * fdatasynced. A batch with a snapshot instead replaces the snapshot file
   * and then the WAL (each written to a temp file, fsynced, renamed, the
   * directory fsynced), the new WAL holding only the state above it.
   * Throws ResourceExhaustedError, before writing anything, for a batch
   * above recordBytesMax or a snapshot above snapshotBytesMax.
   */
  append(batch: PersistBatch): void {
    const wal = this.usableWal();
    // Encoded even with a snapshot, whose entries go into the rewritten WAL: one limit and one range check for all.
    const payload = encodeLogBatch(batch);
    if (payload.length > this.limits.recordBytesMax) {
      throw new ResourceExhaustedError(
        'recordBytesMax',
        `a batch of ${payload.length} encoded bytes is above the limit of ${this.limits.recordBytesMax}`,
      );
    }
    const snapshot = batch.snapshot;
    if (!snapshot) {
      this.durably(() => this.appendRecord(wal, batch, payload));
      return;
    }
    if (snapshot.data.length > this.limits.snapshotBytesMax) {
      throw new ResourceExhaustedError(
        'snapshotBytesMax',
        `a snapshot of ${snapshot.data.length} bytes is above the limit of ${this.limits.snapshotBytesMax}`,
      );
    }
    const snapshotPayload = encodeSnapshot(snapshot);
    this.durably(() => this.replaceSnapshot(batch, snapshotPayload));
  }

  close(): void {
    if (this.wal) closeSync(this.wal.fd);
    this.wal = undefined;
  }

  private usableWal(): OpenWal {
    if (this.failure !== undefined) {
      throw new FailedPreconditionError(
        'storage',
        `an earlier write failed (${this.failure}) and what reached the disk is unknown; reopen to recover`,
      );
    }
    if (!this.wal) throw new FailedPreconditionError('storage', 'closed');
    return this.wal;
  }

  private durably(write: () => void): void {
    try {
      write();
    } catch (error) {
      // A failed fsync may have dropped the dirty pages it could not write:
      // retrying it could report success for data that is gone (PostgreSQL's
      // "fsyncgate"). Refuse everything until a reopen reads the disk again.
      this.failure = errorMessage(error);
      throw error;
    }
  }

  private appendRecord(wal: OpenWal, batch: PersistBatch, payload: Uint8Array): void {
    const record = frameRecord(payload);
    writeFully(wal.fd, record, wal.bytes);
    fdatasyncSync(wal.fd);
    wal.bytes += record.length;
    this.mirror.apply(batch);
    if (wal.bytes >= this.compactAtBytes) this.rewriteWal();
  }

  private replaceSnapshot(batch: PersistBatch, snapshotPayload: Uint8Array): void {
    this.mirror.apply(batch);
    const generation = this.generation + 1n;
    const file = replaceFileAtomically(this.directory, snapshotFileName, [
      encodeHeader('snapshot', generation),
      frameRecord(snapshotPayload),
    ]);
    closeSync(file.fd);
    this.generation = generation;
    this.rewriteWal();
  }

  /** Replaces the WAL with one holding only the live state, so its size follows the state, not the history. */
  private rewriteWal(): void {
    const wal = writeWal(
      this.directory,
      this.generation,
      logBatchOf(this.mirror.toDurableState()),
      this.limits.recordBytesMax,
    );
    this.close();
    this.useWal(wal);
  }

  private useWal(wal: OpenWal): void {
    this.wal = wal;
    // Wait for the WAL to double before rewriting again: amortised O(1) per append.
    this.compactAtBytes = Math.max(this.limits.walCompactionBytes, 2 * wal.bytes);
  }
}

// Durable acceptor state for a coordinator: the disk twin of MemoryStorage.
// The runner makes ready.persist durable and only then sends the messages
// that depend on it, so every promise and accept a peer hears of is on disk
// first. append does it synchronously; appendAsync fdatasyncs on libuv's
// thread pool (and writes there too when the record is large: small ones are
// copied into the page cache on this thread, writeLogRecord), so the runner
// can send what does not depend on the batch meanwhile. Either way appends
// reach the disk one at a time, in the order they were asked for.
import { fdatasyncSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  closeLogFile,
  cutBackAfterFailedAppend,
  errorMessage,
  fdatasyncAsync,
  frameRecord,
  makeDirectoryDurably,
  replaceFileAtomically,
  SerialQueue,
  syncDirectory,
  writeFully,
  writeLogRecord,
} from '@bulwark/durable-log';
import { FailedPreconditionError, ResourceExhaustedError } from '@bulwark/errors';
import { failpoints } from '@bulwark/failpoints';
import type { DurableState, PersistBatch } from '@bulwark/paxos';
import { AcceptedCommands } from './accepted-commands';
import { encodeLogBatch, encodeSnapshot, logBatchOf } from './batch-codec';
import type { DurableStateMirror } from '@bulwark/paxos';
import { encodeFile, snapshotFileName } from './file-header';
import { readStoredState } from './recovery';
import { resolveStorageLimits, type FilePaxosStorageOptions, type StorageLimits } from './storage-limits';
import { continueWal, writeWal, type OpenWal } from './wal-file';

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

/**
 * A batch checked and encoded, ready to be written when its turn comes; it
 * is framed only then, since its checksum covers the WAL's salt and the
 * record's offset, and a rewrite in an earlier turn may change both.
 */
type PreparedAppend =
  | { kind: 'record'; batch: PersistBatch; payload: Uint8Array }
  | { kind: 'snapshot'; batch: PersistBatch; snapshotPayload: Uint8Array };

export class FilePaxosStorage {
  /** The open WAL, until close takes effect. */
  private wal: OpenWal | undefined;
  private compactAtBytes = 0;
  /** Why a write or fsync failed, once one has: what reached the disk is unknown, so only recovery (reopen) may go on. */
  private failure: string | undefined;
  /** close() was called: no new appends; the file is closed once the pending ones have settled. */
  private closing = false;
  /**
   * The accepted commands once every append asked for so far is applied,
   * written or still pending: the next record's chosen entries refer to
   * these. Ahead of the mirror, which follows what is durable; if a pending
   * append fails, every later one is refused anyway.
   */
  private readonly acceptedForEncoding: AcceptedCommands;
  private readonly pendingAppends = new SerialQueue(() => {
    if (this.closing) this.closeFile();
  });

  private constructor(
    private readonly directory: string,
    private readonly limits: StorageLimits,
    private readonly mirror: DurableStateMirror,
    private generation: bigint,
    wal: OpenWal,
  ) {
    this.acceptedForEncoding = AcceptedCommands.of(mirror.toDurableState());
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
    const continued = stored.walToContinue;
    const wal = continued
      ? continueWal(absolute, continued.salt, continued.validBytes, continued.fileBytes)
      : writeWal(absolute, stored.generation, logBatchOf(stored.mirror.toDurableState()), limits.recordBytesMax);
    const storage = new FilePaxosStorage(absolute, limits, stored.mirror, stored.generation, wal);
    const recovery: RecoveryReport = {
      tornTailBytes: stored.tornTailBytes,
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
   * above recordBytesMax or a snapshot above snapshotBytesMax. Throws
   * FailedPreconditionError while an appendAsync is pending: this batch
   * would reach the disk before it.
   */
  append(batch: PersistBatch): void {
    const wal = this.usableWal();
    if (this.pendingAppends.pending > 0) {
      throw new FailedPreconditionError(
        'storage',
        `${this.pendingAppends.pending} appendAsync calls are pending, and append would reach the disk before them; await them first`,
      );
    }
    const prepared = this.prepare(batch);
    this.durably(() => {
      if (prepared.kind === 'snapshot') {
        this.replaceSnapshot(prepared.batch, prepared.snapshotPayload);
        return;
      }
      const record = frameRecord(prepared.payload, { salt: wal.salt, offset: wal.bytes });
      try {
        failpoints.pass('paxos.wal.beforeWrite');
        writeFully(wal.fd, record, wal.bytes);
        failpoints.pass('paxos.wal.beforeFsync');
        fdatasyncSync(wal.fd);
      } catch (error) {
        cutBackAfterFailedAppend(wal.fd, wal.bytes);
        throw error;
      }
      this.recordDurable(wal, prepared.batch, record.length);
      failpoints.pass('paxos.wal.afterFsync');
    });
  }

  /**
   * append, with the record's fdatasync (and a large record's write) on libuv's thread pool:
   * resolves once the batch is durable. Called again before that, the new
   * batch is queued behind the pending ones and written after them, so
   * appends reach the disk in call order. The batch is checked and encoded
   * now: a batch append would refuse, or one above pendingAppendsMax,
   * rejects at once without being queued. A failed write rejects, and so
   * do the appends queued behind it and every later one, until a reopen.
   * A snapshot batch, or a WAL rewrite an append triggers, is written in
   * its turn synchronously (they are rare: one per snapshot, and rewrites
   * wait for the WAL to double).
   */
  async appendAsync(batch: PersistBatch): Promise<void> {
    this.usableWal();
    if (this.pendingAppends.pending >= this.limits.pendingAppendsMax) {
      throw new ResourceExhaustedError(
        'pendingAppendsMax',
        `${this.pendingAppends.pending} appends are pending, the limit; wait for some to finish`,
      );
    }
    const prepared = this.prepare(batch);
    await this.pendingAppends.enqueue(async () => {
      if (this.failure !== undefined) throw this.failedError();
      try {
        await this.writeInTurn(prepared);
      } catch (error) {
        this.failure = errorMessage(error);
        throw error;
      }
    });
  }

  /**
   * Closes the WAL. Appends still pending are written first, and the file
   * is closed once they have settled; later appends are refused.
   */
  close(): void {
    this.closing = true;
    if (this.pendingAppends.pending === 0) this.closeFile();
  }

  private closeFile(): void {
    if (this.wal) closeLogFile(this.wal);
    this.wal = undefined;
  }

  private failedError(): FailedPreconditionError {
    return new FailedPreconditionError(
      'storage',
      `an earlier write failed (${this.failure}) and what reached the disk is unknown; reopen to recover`,
    );
  }

  private usableWal(): OpenWal {
    if (this.failure !== undefined) throw this.failedError();
    if (this.closing || !this.wal) throw new FailedPreconditionError('storage', 'closed');
    return this.wal;
  }

  /** Checks and encodes `batch` against the appends asked for before it, then counts it among them. */
  private prepare(batch: PersistBatch): PreparedAppend {
    // Encoded even with a snapshot, whose entries go into the rewritten WAL: one limit and one range check for all.
    const payload = encodeLogBatch(batch, this.acceptedForEncoding);
    if (payload.length > this.limits.recordBytesMax) {
      throw new ResourceExhaustedError(
        'recordBytesMax',
        `a batch of ${payload.length} encoded bytes is above the limit of ${this.limits.recordBytesMax}`,
      );
    }
    const snapshot = batch.snapshot;
    if (snapshot && snapshot.data.length > this.limits.snapshotBytesMax) {
      throw new ResourceExhaustedError(
        'snapshotBytesMax',
        `a snapshot of ${snapshot.data.length} bytes is above the limit of ${this.limits.snapshotBytesMax}`,
      );
    }
    const prepared: PreparedAppend = snapshot
      ? { kind: 'snapshot', batch, snapshotPayload: encodeSnapshot(snapshot) }
      : { kind: 'record', batch, payload };
    this.acceptedForEncoding.apply(batch);
    return prepared;
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

  /** An appendAsync's write, once every append before it has settled. */
  private async writeInTurn(prepared: PreparedAppend): Promise<void> {
    if (prepared.kind === 'snapshot') {
      this.replaceSnapshot(prepared.batch, prepared.snapshotPayload);
      return;
    }
    // The WAL of this turn: a rewrite in an earlier turn may have replaced the one open when this was asked for.
    const wal = this.wal;
    if (!wal) throw new Error('the WAL is closed, yet close waits for pending appends');
    const record = frameRecord(prepared.payload, { salt: wal.salt, offset: wal.bytes });
    try {
      await failpoints.passAsync('paxos.wal.beforeWrite');
      await writeLogRecord(wal.fd, record, wal.bytes);
      await failpoints.passAsync('paxos.wal.beforeFsync');
      await fdatasyncAsync(wal.fd);
    } catch (error) {
      cutBackAfterFailedAppend(wal.fd, wal.bytes);
      throw error;
    }
    this.recordDurable(wal, prepared.batch, record.length);
    await failpoints.passAsync('paxos.wal.afterFsync');
  }

  /** After the record's fdatasync: only then may `bytes`, what a simulated power loss keeps, count it. */
  private recordDurable(wal: OpenWal, batch: PersistBatch, recordBytes: number): void {
    wal.bytes += recordBytes;
    this.mirror.apply(batch);
    if (wal.bytes >= this.compactAtBytes) this.rewriteWal();
  }

  private replaceSnapshot(batch: PersistBatch, snapshotPayload: Uint8Array): void {
    this.mirror.apply(batch);
    const generation = this.generation + 1n;
    const { chunks } = encodeFile('snapshot', generation, [snapshotPayload]);
    closeLogFile(replaceFileAtomically(this.directory, snapshotFileName, chunks));
    this.generation = generation;
    failpoints.pass('paxos.snapshot.afterReplace');
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
    this.closeFile();
    this.useWal(wal);
  }

  private useWal(wal: OpenWal): void {
    this.wal = wal;
    // Wait for the WAL to double before rewriting again: amortised O(1) per append.
    this.compactAtBytes = Math.max(this.limits.walCompactionBytes, 2 * wal.bytes);
  }
}

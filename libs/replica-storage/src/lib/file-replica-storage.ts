// A replica group member's durable log and snapshots: the disk twin of the
// replication core's in-memory log, and of MemoryReplicaStorage. The runner
// makes a batch durable before acknowledging what depends on it.
//
// Appends are group-committed: those that queue while a write + fdatasync is
// in flight are written next as one record with one write and one fdatasync,
// so a crash keeps them all or none, and a prefix of the batches either way.
import { renameSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  closeLogFile,
  concatBytes,
  cutBackAfterFailedAppend,
  errorMessage,
  frameRecord,
  makeDirectoryDurably,
  recordHeaderBytes,
  SerialQueue,
  syncDirectory,
  writeLogRecord,
} from '@bulwark/durable-log';
import { FailedPreconditionError, ResourceExhaustedError } from '@bulwark/errors';
import { failpoints } from '@bulwark/failpoints';
import { snapshotFileName, snapshotTempFileName } from './file-format';
import { checkSnapshotWithin, encodeBatchWithin } from './record-codec';
import type { ReplicaLogState } from './replica-log-state';
import type {
  KeepEntries,
  PersistBatch,
  RecoveredReplicaState,
  ReplicaStorage,
  SaveSnapshotOptions,
  SnapshotChunks,
  SnapshotMeta,
  SnapshotPoint,
  StoredSnapshot,
} from './replica-types';
import { readStoredState } from './recovery';
import { FileStoredSnapshot, openSnapshotFile, snapshotMetaOf, writeSnapshotTemp } from './snapshot-file';
import { nodeIo, type StorageIo } from './storage-io';
import {
  resolveLimits,
  type FileReplicaStorageOptions,
  type ReplicaStorageLimits,
  type WalSync,
} from './storage-limits';
import { continueWal, readWal, replayWal, writeWal, type OpenWal } from './wal-file';

export interface RecoveryReport {
  /** Bytes of a torn last WAL record (an append a crash cut short, never acknowledged) that were cut off. */
  tornTailBytes: number;
  /** Temp files of a snapshot or WAL rewrite a crash interrupted before its rename, removed. */
  removedTempFiles: string[];
  /** A crash came between renaming a snapshot into place and rewriting the WAL after it; the rewrite was done now. */
  finishedInterruptedSnapshot: boolean;
}

export interface OpenedReplicaStorage {
  storage: FileReplicaStorage;
  /** What the member restarts from: what applying every acknowledged call in order gives. */
  recovered: RecoveredReplicaState;
  report: RecoveryReport;
}

/** Appends written together: one record, one write, one fdatasync. */
interface AppendGroup {
  readonly fields: Uint8Array[];
  bytes: number;
  /** Log entries its batches carry. */
  entries: number;
  /** Its write has begun: later appends go in the next group. */
  started: boolean;
  done: Promise<void>;
}

export class FileReplicaStorage implements ReplicaStorage {
  /** The open WAL, until close takes effect. */
  private wal: OpenWal | undefined;
  /** Why a write, fsync or snapshot failed, once one has: only recovery (reopen) may go on. */
  private failure: string | undefined;
  private closing: Promise<void> | undefined;
  private finishClosing: () => void = () => undefined;
  /** appendAsync and saveSnapshot calls not yet settled, and the encoded bytes of those appends. */
  private pendingCalls = 0;
  private pendingBytes = 0;
  /** The group new appends join, until its write begins or something else is queued after it. */
  private openGroup: AppendGroup | undefined;
  private savingSnapshot = false;
  private readonly queue = new SerialQueue(() => undefined);

  private constructor(
    private readonly directory: string,
    private readonly limits: ReplicaStorageLimits,
    private readonly io: StorageIo,
    /** The state once every accepted call is applied, durable or not: what the next call is checked against. */
    private readonly projected: ReplicaLogState,
    /** The snapshot generation: the snapshot file and the WAL written after it share it. */
    private generation: bigint,
    wal: OpenWal,
    private readonly onWalSync: ((sync: WalSync) => void) | undefined,
  ) {
    this.wal = wal;
  }

  /**
   * Opens the store in `directory`, creating it if new, else recovering it:
   * a torn last append is cut off, temp files of an interrupted rewrite are
   * removed, a WAL rewrite a crash cut short after its snapshot is finished.
   * Throws StorageCorruptionError, naming the file and offset, for anything
   * else that is not what this code writes (the member must not start), and
   * FailedPreconditionError for files above walBytesMax or snapshotBytesMax.
   */
  static open(directory: string, options: FileReplicaStorageOptions = {}): OpenedReplicaStorage {
    const { io, onWalSync, ...limitOptions } = options;
    const limits = resolveLimits(limitOptions);
    const absolute = resolve(directory);
    makeDirectoryDurably(absolute);
    const stored = readStoredState(absolute, limits);
    for (const name of stored.tempFiles) unlinkSync(join(absolute, name));
    if (stored.tempFiles.length > 0) syncDirectory(absolute);
    const continued = stored.walToContinue;
    const wal = continued
      ? continueWal(absolute, continued.salt, continued.validBytes, continued.fileBytes)
      : writeWal(absolute, stored.generation, stored.state.base(), stored.state.entries, limits.recordBytesMax);
    const { state } = stored;
    const recovered: RecoveredReplicaState = {
      highestEpoch: state.highestEpoch,
      ledEpoch: state.ledEpoch,
      ...(stored.snapshot && { snapshot: stored.snapshot.meta }),
      entries: [...state.entries],
    };
    state.forgetEntries();
    const storage = new FileReplicaStorage(
      absolute,
      limits,
      { ...nodeIo, ...io },
      state,
      stored.generation,
      wal,
      onWalSync,
    );
    const report: RecoveryReport = {
      tornTailBytes: stored.tornTailBytes,
      removedTempFiles: stored.tempFiles,
      finishedInterruptedSnapshot: stored.interruptedSnapshot,
    };
    return { storage, recovered, report };
  }

  /** Bytes of the WAL on disk, durable appends only: the runner snapshots when it grows. */
  get walBytes(): number {
    return this.wal?.bytes ?? 0;
  }

  /**
   * Resolves once `batch` is durable, after every call before it. Checked
   * now against the log every earlier call leaves: InvalidArgumentError if
   * it does not follow it; ResourceExhaustedError for a batch above
   * recordBytesMax, or when pendingAppendsMax, pendingBytesMax or
   * walBytesMax is full. Either way nothing is queued. A failed write
   * rejects, and so does every call after it, until a reopen.
   */
  async appendAsync(batch: PersistBatch): Promise<void> {
    this.checkUsable();
    this.projected.checkBatch(batch);
    const field = encodeBatchWithin(batch, this.limits.recordBytesMax);
    this.checkRoom(field.length);
    this.projected.applyBatch(batch);
    const group = this.groupFor(field.length);
    group.fields.push(field);
    group.bytes += field.length;
    group.entries += batch.entries.length;
    await this.tracked(field.length, group.done);
  }

  /**
   * Stores a snapshot of the state machine through position.lastSequence:
   * streams `chunks` to snapshot.tmp (never holding them all), fsyncs it,
   * renames it over the snapshot, fsyncs the directory, then rewrites the WAL
   * (temp file, fsync, rename, directory fsync) to hold the epochs and the
   * entries from keepEntriesFrom on, or none. Resolves with the meta, size
   * and checksum filled in. Takes effect in call order like an append.
   *
   * With 'none' it runs in its turn: appends called after it wait for it.
   * Keeping entries, the data is streamed at once and only the renames wait
   * in the queue, so appends go on meanwhile: they commute with it, since
   * they never touch the log at or below the snapshot.
   *
   * Refused at once (InvalidArgumentError) when it does not fit the log,
   * and (FailedPreconditionError) while another snapshot is being saved.
   * A failure, the chunks' own included, poisons the store like a failed
   * append: the calls after it were checked against the state it makes.
   */
  async saveSnapshot(
    given: SnapshotPoint,
    chunks: SnapshotChunks,
    options: SaveSnapshotOptions,
  ): Promise<SnapshotMeta> {
    this.checkUsable();
    const keep = options.keepEntriesFrom;
    if (this.savingSnapshot) {
      throw new FailedPreconditionError('saveSnapshot', 'another snapshot is being saved; wait for it to finish');
    }
    this.projected.checkSnapshot(given, keep);
    checkSnapshotWithin(given, keep, this.limits.recordBytesMax);
    this.checkRoom(0);
    // A copy: the caller may change its object before the snapshot's turn comes.
    const position = snapshotMetaOf(given, 0n, 0);
    this.projected.applySnapshot(position, keep);
    this.savingSnapshot = true;
    const generation = this.generation + 1n;
    const write = () => writeSnapshotTemp(this.directory, generation, position, keep, chunks, this.limits, this.io);
    const work =
      keep === 'none'
        ? this.enqueue(async () => this.commitSnapshot(await write(), keep))
        : this.durably(write).then((meta) => this.enqueue(async () => this.commitSnapshot(meta, keep)));
    try {
      return await this.tracked(0, work);
    } finally {
      this.savingSnapshot = false;
    }
  }

  /** The latest durable snapshot, its data checked as it is read; undefined before the first. */
  openSnapshot(): StoredSnapshot | undefined {
    this.checkUsable();
    const file = openSnapshotFile(this.directory, this.limits);
    return file && new FileStoredSnapshot(file);
  }

  /** Lets the pending calls finish, then closes the WAL; later calls are refused. Resolves once closed. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise((resolve) => (this.finishClosing = resolve));
      if (this.pendingCalls === 0) this.closeFile();
    }
    return this.closing;
  }

  private closeFile(): void {
    if (this.wal) closeLogFile(this.wal);
    this.wal = undefined;
    this.finishClosing();
  }

  private failedError(): FailedPreconditionError {
    return new FailedPreconditionError(
      'storage',
      `an earlier write failed (${this.failure}) and what reached the disk is unknown; reopen to recover`,
    );
  }

  private checkUsable(): void {
    if (this.failure !== undefined) throw this.failedError();
    if (this.closing) throw new FailedPreconditionError('storage', 'closed');
  }

  /** Throws ResourceExhaustedError when one more call of `bytes` would pass a bound. */
  private checkRoom(bytes: number): void {
    const { pendingAppendsMax, pendingBytesMax, walBytesMax } = this.limits;
    if (this.pendingCalls >= pendingAppendsMax) {
      throw new ResourceExhaustedError(
        'pendingAppendsMax',
        `${this.pendingCalls} calls are pending, the limit; wait for some to finish`,
      );
    }
    if (this.pendingBytes + bytes > pendingBytesMax) {
      throw new ResourceExhaustedError(
        'pendingBytesMax',
        `${this.pendingBytes} bytes are pending, and ${bytes} more would pass the limit of ${pendingBytesMax}`,
      );
    }
    // At most: every pending append in a record of its own.
    const walBytesAtMost = this.walBytes + this.pendingBytes + bytes + recordHeaderBytes * (this.pendingCalls + 1);
    if (bytes > 0 && walBytesAtMost > walBytesMax) {
      throw new ResourceExhaustedError(
        'walBytesMax',
        `the WAL could reach ${walBytesAtMost} bytes, above the limit of ${walBytesMax}; save a snapshot first`,
      );
    }
  }

  /** Counts a call as pending until `work` settles; the file is closed once the last pending call settles after close(). */
  private async tracked<T>(bytes: number, work: Promise<T>): Promise<T> {
    this.pendingCalls++;
    this.pendingBytes += bytes;
    try {
      return await work;
    } finally {
      this.pendingCalls--;
      this.pendingBytes -= bytes;
      if (this.pendingCalls === 0 && this.closing) this.closeFile();
    }
  }

  /** The group an append of `bytes` joins: the open one if its write has not begun and the record stays within bound. */
  private groupFor(bytes: number): AppendGroup {
    const open = this.openGroup;
    if (open && !open.started && open.bytes + bytes <= this.limits.recordBytesMax) return open;
    const group: AppendGroup = { fields: [], bytes: 0, entries: 0, started: false, done: Promise.resolve() };
    group.done = this.queue.enqueue(() => this.durably(() => this.writeGroup(group)));
    this.openGroup = group;
    return group;
  }

  /** Queues `task` after everything queued so far; appends called later go after it. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.openGroup = undefined;
    let result: T | undefined;
    return this.queue.enqueue(() => this.durably(async () => void (result = await task()))).then(() => result as T);
  }

  /**
   * Runs `work` unless the store is poisoned, and poisons it if `work`
   * fails. After an fsync error the kernel may have dropped the pages it
   * could not write, so a retry could report success for data that is gone
   * (PostgreSQL's "fsyncgate"): only a reopen, which reads the disk, may go on.
   */
  private async durably<T>(work: () => Promise<T>): Promise<T> {
    if (this.failure !== undefined) throw this.failedError();
    try {
      return await work();
    } catch (error) {
      this.failure ??= errorMessage(error);
      throw error;
    }
  }

  private currentWal(): OpenWal {
    if (!this.wal) throw new Error('the WAL is closed, yet close waits for pending calls');
    return this.wal;
  }

  private async writeGroup(group: AppendGroup): Promise<void> {
    group.started = true;
    if (this.openGroup === group) this.openGroup = undefined;
    const wal = this.currentWal();
    const record = frameRecord(concatBytes(group.fields), { salt: wal.salt, offset: wal.bytes });
    const syncStartMs = performance.now();
    try {
      await failpoints.passAsync('replica.wal.beforeWrite');
      await writeLogRecord(wal.fd, record, wal.bytes);
      await failpoints.passAsync('replica.wal.beforeFsync');
      await this.io.fdatasync(wal.fd);
    } catch (error) {
      cutBackAfterFailedAppend(wal.fd, wal.bytes);
      throw error;
    }
    this.onWalSync?.({ entries: group.entries, seconds: (performance.now() - syncStartMs) / 1_000 });
    // Only now: `bytes` is what a simulated power loss keeps (durable-log's open-log-files).
    wal.bytes += record.length;
    await failpoints.passAsync('replica.wal.afterFsync');
  }

  /**
   * In its turn, so every call before it is durable: builds the new WAL from
   * the old one as it is on disk with the snapshot applied (before renaming
   * anything, so a failure leaves the old state whole), then renames the
   * snapshot into place, and then the new WAL.
   */
  private commitSnapshot(meta: SnapshotMeta, keep: KeepEntries): SnapshotMeta {
    const wal = this.currentWal();
    const keepEntries = keep !== 'none';
    const { state } = replayWal(readWal(this.directory, wal.bytes), this.limits.recordBytesMax, { keepEntries });
    state.applySnapshot(meta, keep);
    failpoints.pass('replica.snapshot.beforeRename');
    renameSync(join(this.directory, snapshotTempFileName), join(this.directory, snapshotFileName));
    syncDirectory(this.directory);
    failpoints.pass('replica.snapshot.afterRename');
    this.generation++;
    const entries = keepEntries ? state.entries : [];
    const rewritten = writeWal(this.directory, this.generation, state.base(), entries, this.limits.recordBytesMax);
    closeLogFile(wal);
    this.wal = rewritten;
    return meta;
  }
}

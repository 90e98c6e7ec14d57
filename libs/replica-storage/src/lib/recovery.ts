// Reads and checks what a store's directory holds, before open changes
// anything on disk: the snapshot (meta and data), then the WAL replayed from
// its base.
//
// saveSnapshot renames the new snapshot (generation g+1) into place and then
// the WAL rewritten after it (also g+1). So a WAL of generation g under a
// snapshot of g+1 means a crash came between the two renames: the old WAL is
// complete, and the state is its replay with the snapshot applied after it
// (the snapshot file records which entries it keeps). Any other pair of
// generations means a file was lost or replaced: corruption.
import { existsSync, closeSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, StorageCorruptionError } from '@bulwark/durable-log';
import { FailedPreconditionError } from '@bulwark/errors';
import { formatVersion, snapshotFileName, snapshotTempFileName, walFileName, walTempFileName } from './file-format';
import { ReplicaLogState, sameEpochStarts } from './replica-log-state';
import type { KeepEntries, SnapshotMeta } from './replica-types';
import { openSnapshotFile, verifySnapshotData } from './snapshot-file';
import type { ReplicaStorageLimits } from './storage-limits';
import { replayWal } from './wal-file';

export interface StoredState {
  /** The recovered state, entries included. */
  state: ReplicaLogState;
  snapshot: { meta: SnapshotMeta; keep: KeepEntries } | undefined;
  /** The snapshot generation the WAL continues (0 before the first snapshot). */
  generation: bigint;
  /**
   * The WAL to continue, if it is not to be written anew (after an
   * interrupted snapshot, or in an older format): its salt, where its valid
   * records end, and its size.
   */
  walToContinue: { salt: bigint; validBytes: number; fileBytes: number } | undefined;
  /** Bytes of a torn last WAL record (an append a crash cut short, never acknowledged), dropped. */
  tornTailBytes: number;
  /** The snapshot is one generation ahead of the WAL: the WAL rewrite after it must be done now. */
  interruptedSnapshot: boolean;
  /** Temp files of a snapshot or WAL rewrite whose rename never happened: garbage. */
  tempFiles: string[];
}

function readSnapshot(directory: string, limits: ReplicaStorageLimits) {
  const file = openSnapshotFile(directory, limits);
  if (!file) return undefined;
  try {
    verifySnapshotData(file);
  } finally {
    closeSync(file.fd);
  }
  return file;
}

export function readStoredState(directory: string, limits: ReplicaStorageLimits): StoredState {
  const tempFiles = [walTempFileName, snapshotTempFileName].filter((name) => existsSync(join(directory, name)));
  const snapshot = readSnapshot(directory, limits);
  const walPath = join(directory, walFileName);
  if (!existsSync(walPath)) {
    if (snapshot) {
      throw new StorageCorruptionError(
        walFileName,
        0,
        `missing while ${snapshotFileName} exists (a WAL is only ever replaced by rename)`,
      );
    }
    const state = new ReplicaLogState({ keepEntries: true });
    return {
      state,
      snapshot: undefined,
      generation: 0n,
      walToContinue: undefined,
      tornTailBytes: 0,
      interruptedSnapshot: false,
      tempFiles,
    };
  }

  const fileBytes = statSync(walPath).size;
  if (fileBytes > limits.walBytesMax) {
    throw new FailedPreconditionError(
      'walBytesMax',
      `${walFileName} has ${fileBytes} bytes, above the limit of ${limits.walBytesMax}; open with a larger walBytesMax`,
    );
  }
  const replayed = replayWal(readFileSync(walPath), limits.recordBytesMax, { keepEntries: true });
  const generation = snapshot?.generation ?? 0n;
  const interrupted = snapshot !== undefined && replayed.header.generation + 1n === generation;
  if (replayed.header.generation !== generation && !interrupted) {
    throw new StorageCorruptionError(
      walFileName,
      8,
      `generation ${replayed.header.generation} does not continue ${snapshot ? `${snapshotFileName} generation ${generation}` : 'an empty store (no snapshot file)'}`,
    );
  }
  const { state, base } = replayed;
  if (!interrupted) {
    // The WAL was written right after this snapshot (or with none): its base must say so.
    const lastSequence = snapshot?.meta.lastSequence ?? 0n;
    if (
      base.snapshotLastSequence !== lastSequence ||
      !sameEpochStarts(base.snapshotEpochStarts, snapshot?.meta.epochStarts ?? [])
    ) {
      throw new StorageCorruptionError(
        walFileName,
        replayed.header.recordsStart,
        `the base continues a snapshot through ${base.snapshotLastSequence}, not the stored one through ${lastSequence}`,
      );
    }
  }
  try {
    state.checkReachesSnapshot();
  } catch (error) {
    throw new StorageCorruptionError(walFileName, replayed.validBytes, errorMessage(error));
  }
  if (snapshot && interrupted) {
    try {
      state.applySnapshot(snapshot.meta, snapshot.keep);
    } catch (error) {
      throw new StorageCorruptionError(
        snapshotFileName,
        snapshot.metaOffset,
        `does not fit the WAL before it: ${errorMessage(error)}`,
      );
    }
  }
  // Every version this build writes is salted: an older WAL is rewritten in it, so appends frame with a salt.
  const salt = interrupted || replayed.header.formatVersion < formatVersion ? undefined : replayed.header.salt;
  return {
    state,
    snapshot: snapshot && { meta: snapshot.meta, keep: snapshot.keep },
    generation,
    walToContinue: salt === undefined ? undefined : { salt, validBytes: replayed.validBytes, fileBytes },
    tornTailBytes: fileBytes - replayed.validBytes,
    interruptedSnapshot: interrupted,
    tempFiles,
  };
}

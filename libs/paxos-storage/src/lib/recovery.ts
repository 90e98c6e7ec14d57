// Reads and validates what a storage directory holds, before open changes
// anything on disk: the snapshot, then the WAL replayed on top of it.
//
// A snapshot batch writes the snapshot file (generation g+1) and then a new
// WAL (also g+1), each by atomic rename. So a WAL of generation g under a
// snapshot of g+1 means the crash came between the two renames: the old WAL
// is complete, and the state is its replay with the snapshot applied after
// it (that batch's other changes were never acknowledged). Any other pair of
// generations means a file was lost or replaced: corruption.
//
// A WAL in an older format version is read, and then written anew in the
// current one before anything is appended to it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  errorMessage,
  headerBytes,
  readOnlyRecord,
  recordHeaderBytes,
  scanLog,
  StorageCorruptionError,
  tempSuffix,
  type ScannedRecord,
} from '@bulwark/durable-log';
import type { Snapshot } from '@bulwark/paxos';
import { AcceptedCommands } from './accepted-commands';
import {
  decodeLogBatch,
  decodeSnapshot,
  resolveChosen,
  snapshotPayloadOverheadBytesMax,
  type LogBatch,
} from './batch-codec';
import { DurableStateMirror } from '@bulwark/paxos';
import {
  chosenReferencesSinceFormatVersion,
  formatVersion,
  parseHeader,
  snapshotFileName,
  walFileName,
} from './file-header';
import type { StorageLimits } from './storage-limits';

export interface StoredState {
  mirror: DurableStateMirror;
  /** The snapshot generation the WAL continues (0 before the first snapshot). */
  generation: bigint;
  /**
   * The WAL to append to: its salt, where its valid records end, and its
   * size. Undefined when it must be written anew from the recovered state:
   * missing, behind the snapshot, or in an older format.
   */
  walToContinue: { salt: bigint; validBytes: number; fileBytes: number } | undefined;
  /** Bytes of a torn last WAL record (an append a crash cut short, never acknowledged), dropped. */
  tornTailBytes: number;
  /** The snapshot file is one generation ahead of the WAL: the WAL rewrite after it must be done now. */
  interruptedSnapshot: boolean;
  /** Temp files of a rewrite a crash interrupted: garbage, since the rename never happened. */
  tempFiles: string[];
}

function readSnapshotFile(
  directory: string,
  limits: StorageLimits,
): { generation: bigint; snapshot: Snapshot } | undefined {
  const path = join(directory, snapshotFileName);
  if (!existsSync(path)) return undefined;
  const payloadBytesMax = limits.snapshotBytesMax + snapshotPayloadOverheadBytesMax;
  const fileBytesMax = headerBytes + recordHeaderBytes + payloadBytesMax;
  const fileBytes = statSync(path).size;
  if (fileBytes > fileBytesMax) {
    throw new StorageCorruptionError(
      snapshotFileName,
      0,
      `file has ${fileBytes} bytes, above the ${fileBytesMax} that snapshotBytesMax ${limits.snapshotBytesMax} allows`,
    );
  }
  const bytes = readFileSync(path);
  const header = parseHeader(bytes, 'snapshot', snapshotFileName);
  const payload = readOnlyRecord(bytes, header, payloadBytesMax, snapshotFileName);
  try {
    return { generation: header.generation, snapshot: decodeSnapshot(payload) };
  } catch (error) {
    throw new StorageCorruptionError(
      snapshotFileName,
      header.recordsStart,
      `record does not decode: ${errorMessage(error)}`,
    );
  }
}

/** The record's batch, its chosen references resolved against `acceptedBefore` (what the records before it accepted). */
function decodeWalRecord(record: ScannedRecord, acceptedBefore: AcceptedCommands, walFormatVersion: number): LogBatch {
  try {
    const stored = decodeLogBatch(record.payload, walFormatVersion >= chosenReferencesSinceFormatVersion);
    return resolveChosen(stored, acceptedBefore);
  } catch (error) {
    throw new StorageCorruptionError(walFileName, record.offset, `record does not decode: ${errorMessage(error)}`);
  }
}

export function readStoredState(directory: string, limits: StorageLimits): StoredState {
  const tempFiles = [walFileName + tempSuffix, snapshotFileName + tempSuffix].filter((name) =>
    existsSync(join(directory, name)),
  );
  const stored = readSnapshotFile(directory, limits);
  const mirror = new DurableStateMirror();
  const walPath = join(directory, walFileName);
  if (!existsSync(walPath)) {
    if (stored) {
      throw new StorageCorruptionError(
        walFileName,
        0,
        `missing while ${snapshotFileName} exists (a WAL is only ever replaced by rename)`,
      );
    }
    return {
      mirror,
      generation: 0n,
      walToContinue: undefined,
      tornTailBytes: 0,
      interruptedSnapshot: false,
      tempFiles,
    };
  }

  const bytes = readFileSync(walPath);
  const walHeader = parseHeader(bytes, 'wal', walFileName);
  const walGeneration = walHeader.generation;
  const generation = stored?.generation ?? 0n;
  const interrupted = stored !== undefined && walGeneration + 1n === generation;
  if (walGeneration !== generation && !interrupted) {
    throw new StorageCorruptionError(
      walFileName,
      8,
      `generation ${walGeneration} does not continue ${stored ? `${snapshotFileName} generation ${generation}` : 'an empty store (no snapshot file)'}`,
    );
  }
  const snapshotBatch = stored && { snapshot: stored.snapshot, accepted: [], chosen: [] };
  if (snapshotBatch && !interrupted) mirror.apply(snapshotBatch);
  const log = scanLog(bytes, walHeader, limits.recordBytesMax, walFileName);
  // Starts empty either way: the snapshot file holds no accepted entries.
  const accepted = new AcceptedCommands();
  for (const record of log.records) {
    const batch = decodeWalRecord(record, accepted, walHeader.formatVersion);
    mirror.apply(batch);
    accepted.apply(batch);
  }
  if (snapshotBatch && interrupted) mirror.apply(snapshotBatch);
  // Every version this build writes is salted: an older WAL is rewritten in it, so appends frame with a salt.
  const salt = interrupted || walHeader.formatVersion < formatVersion ? undefined : walHeader.salt;
  return {
    mirror,
    generation,
    walToContinue: salt === undefined ? undefined : { salt, validBytes: log.validBytes, fileBytes: bytes.length },
    tornTailBytes: bytes.length - log.validBytes,
    interruptedSnapshot: interrupted,
    tempFiles,
  };
}

// The WAL as the store keeps it: replayed from its bytes, written anew by
// atomic rename (a base, then the log's entries), or continued after its
// last valid record.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  concatBytes,
  continueLogFile,
  errorMessage,
  replaceLogAtomically,
  scanLog,
  StorageCorruptionError,
  type FileHeader,
  type OpenRecordLog,
} from '@bulwark/durable-log';
import { encodeFile, parseHeader, walFileName } from './file-format';
import { decodeWalRecord, encodeBaseField, encodeBatchField, type WalBase } from './record-codec';
import { ReplicaLogState } from './replica-log-state';
import type { LogEntry } from './replica-types';

export type OpenWal = OpenRecordLog;

export interface ReplayedWal {
  header: FileHeader;
  base: WalBase;
  state: ReplicaLogState;
  /** End of the last valid record: a torn tail after it is cut off before appending. */
  validBytes: number;
}

/**
 * The state a WAL's records give, applied by the rules appends are checked
 * by. Throws StorageCorruptionError naming the WAL and the offset of a record
 * that does not decode or does not follow the log, or for damage beyond a
 * torn last record (scanLog's rules). Does not check that the log reaches
 * the snapshot: the caller does, once it knows the snapshot.
 */
export function replayWal(bytes: Uint8Array, recordBytesMax: number, options: { keepEntries: boolean }): ReplayedWal {
  const header = parseHeader(bytes, 'wal', walFileName);
  const log = scanLog(bytes, header, recordBytesMax, walFileName);
  let replayed: { base: WalBase; state: ReplicaLogState } | undefined;
  for (const record of log.records) {
    const fail = (problem: string, error: unknown) =>
      new StorageCorruptionError(walFileName, record.offset, `${problem}: ${errorMessage(error)}`);
    let decoded;
    try {
      decoded = decodeWalRecord(record.payload);
    } catch (error) {
      throw fail('record does not decode', error);
    }
    if (replayed === undefined) {
      const base = decoded.base;
      if (base === undefined)
        throw new StorageCorruptionError(walFileName, record.offset, 'the first record has no base');
      try {
        replayed = { base, state: ReplicaLogState.fromBase(base, options) };
      } catch (error) {
        throw fail('the base is not valid', error);
      }
    } else if (decoded.base !== undefined) {
      throw new StorageCorruptionError(walFileName, record.offset, 'a base in a record other than the first');
    }
    for (const batch of decoded.batches) {
      try {
        replayed.state.applyBatch(batch);
      } catch (error) {
        throw fail('record does not follow the log before it', error);
      }
    }
  }
  if (replayed === undefined) {
    throw new StorageCorruptionError(walFileName, log.validBytes, 'no records: every WAL starts with a base record');
  }
  return { header, ...replayed, validBytes: log.validBytes };
}

/**
 * Record payloads holding `base` and then `entries`, each at most
 * recordBytesMax: as many entries to a batch as fit (an entry alone fits: it
 * came in a batch that did).
 */
function walPayloads(base: WalBase, entries: readonly LogEntry[], recordBytesMax: number): Uint8Array[] {
  // One batch per record: a WAL rewritten at open (a format upgrade) is then no larger than the one it
  // replaces but for its header, so within the walBytesMax that one was opened under.
  interface PackedRecord {
    readonly baseField?: Uint8Array;
    readonly entries: LogEntry[];
    bytes: number;
  }
  const baseField = encodeBaseField(base);
  let record: PackedRecord = { baseField, entries: [], bytes: baseField.length };
  const records = [record];
  for (const entry of entries) {
    // A field of its own bounds what an entry adds to a field of several.
    const bytes = encodeBatchField({ entries: [entry] }).length;
    if (record.bytes + bytes > recordBytesMax && record.bytes > 0) {
      record = { entries: [], bytes: 0 };
      records.push(record);
    }
    record.entries.push(entry);
    record.bytes += bytes;
  }
  return records.map(({ baseField: recordBase, entries: packed }) => {
    const payload = concatBytes([
      ...(recordBase ? [recordBase] : []),
      ...(packed.length > 0 ? [encodeBatchField({ entries: packed })] : []),
    ]);
    if (payload.length > recordBytesMax)
      throw new Error(`a WAL record of ${payload.length} bytes is above recordBytesMax`);
    return payload;
  });
}

/** A new WAL holding `base` and `entries`, replacing the old one by atomic rename. */
export function writeWal(
  directory: string,
  generation: bigint,
  base: WalBase,
  entries: readonly LogEntry[],
  recordBytesMax: number,
): OpenWal {
  const file = encodeFile('wal', generation, walPayloads(base, entries, recordBytesMax));
  return replaceLogAtomically(directory, walFileName, file);
}

/** The first `bytes` bytes of the WAL, all of them there. */
export function readWal(directory: string, bytes: number): Uint8Array {
  const contents = readFileSync(join(directory, walFileName));
  if (contents.length < bytes)
    throw new Error(`${walFileName} has ${contents.length} bytes, fewer than the ${bytes} written`);
  return contents.subarray(0, bytes);
}

/** Opens the WAL, whose header holds `salt`, for appending after its last valid record, cutting off a torn tail first. */
export function continueWal(directory: string, salt: bigint, validBytes: number, fileBytes: number): OpenWal {
  return continueLogFile(directory, walFileName, salt, validBytes, fileBytes);
}

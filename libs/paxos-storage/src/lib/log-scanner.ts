// Splits a WAL into its records and tells a torn last write (a crash during
// an append that was never acknowledged) from corruption (damage to records
// that were acknowledged). Every append is fsynced before the next begins,
// so only the last record can be torn; damage anywhere else refuses.
import { describeCutOff, headerBytes, recordAt, recordHeaderBytes, uint32At } from './file-format';
import { StorageCorruptionError } from './storage-corruption-error';

export interface ScannedRecord {
  offset: number;
  payload: Uint8Array;
}

export interface ScannedLog {
  records: ScannedRecord[];
  /** End of the last valid record: the file is cut back to this before appending. */
  validBytes: number;
}

/** Checksummed bytes the search for intact records may spend, per byte of tail, beyond a fixed MiB. */
const searchBytesPerTailByte = 16;
const searchBytesBase = 1024 * 1024;

function zeroFrom(bytes: Uint8Array, offset: number): boolean {
  for (let index = offset; index < bytes.length; index++) if (bytes[index] !== 0) return false;
  return true;
}

/**
 * Where, after the cut-off record at `offset`, valid records start that
 * chain exactly to the end of the file: what a damaged length field in the
 * middle of the log leaves (the records after it are intact), and what a
 * torn last write cannot. Chains are followed through length fields alone,
 * from the end backwards so each offset is visited once; only chain starts
 * are checksummed, within a budget, past which the tail cannot be proven
 * torn and is refused as corruption.
 */
function intactRecordsAfter(
  bytes: Uint8Array,
  offset: number,
  payloadBytesMax: number,
  file: string,
): number | undefined {
  const tailBytes = bytes.length - offset;
  // reachesEnd[i]: records chained by their lengths from offset + i end exactly at the end of the file.
  const reachesEnd = new Uint8Array(tailBytes + 1);
  reachesEnd[tailBytes] = 1;
  for (let index = tailBytes - recordHeaderBytes; index > 0; index--) {
    const length = uint32At(bytes, offset + index);
    const next = index + recordHeaderBytes + length;
    if (length <= payloadBytesMax && next <= tailBytes) reachesEnd[index] = reachesEnd[next] as number;
  }
  const budgetBytes = searchBytesBase + searchBytesPerTailByte * tailBytes;
  let spentBytes = 0;
  for (let index = 1; index < tailBytes; index++) {
    if (!reachesEnd[index]) continue;
    const candidate = recordAt(bytes, offset + index, payloadBytesMax);
    if (candidate.kind === 'valid') return offset + index;
    spentBytes += uint32At(bytes, offset + index);
    if (spentBytes > budgetBytes) {
      throw new StorageCorruptionError(
        file,
        offset,
        'cannot prove the cut-off record is a torn last write: searching the rest of the file for intact records exceeded its budget',
      );
    }
  }
  return undefined;
}

/** Ends the scan at a bad last record, unless intact records after it show it is a damaged one in the middle. */
function tornUnlessIntactRecordsFollow(
  bytes: Uint8Array,
  offset: number,
  payloadBytesMax: number,
  file: string,
  records: ScannedRecord[],
  problem: string,
): ScannedLog {
  const next = intactRecordsAfter(bytes, offset, payloadBytesMax, file);
  if (next !== undefined) {
    throw new StorageCorruptionError(
      file,
      offset,
      `${problem}, yet intact records follow from byte ${next}: a damaged length, not a torn last write`,
    );
  }
  return { records, validBytes: offset };
}

/**
 * The records after the header. Torn, and so dropped, when no intact
 * records follow it: a record the file ends inside of; a record failing its
 * checksum that ends at the end of the file, or after which only zero bytes
 * follow (a file extended by the crash before its data was written).
 * Anything else that is not a valid record is corruption.
 */
export function scanLog(bytes: Uint8Array, payloadBytesMax: number, file: string): ScannedLog {
  const records: ScannedRecord[] = [];
  let offset = headerBytes;
  while (offset < bytes.length) {
    const record = recordAt(bytes, offset, payloadBytesMax);
    switch (record.kind) {
      case 'valid':
        records.push({ offset, payload: record.payload });
        offset = record.end;
        continue;
      case 'too-long':
        throw new StorageCorruptionError(
          file,
          offset,
          `record length ${record.length} is above the limit of ${payloadBytesMax}`,
        );
      case 'checksum-mismatch':
        if (record.end !== bytes.length && !zeroFrom(bytes, offset)) {
          throw new StorageCorruptionError(
            file,
            offset,
            `record checksum mismatch with ${bytes.length - record.end} more bytes after it, so not a torn last write`,
          );
        }
        return tornUnlessIntactRecordsFollow(bytes, offset, payloadBytesMax, file, records, 'record checksum mismatch');
      case 'cut-off':
        return tornUnlessIntactRecordsFollow(bytes, offset, payloadBytesMax, file, records, describeCutOff(record));
    }
  }
  return { records, validBytes: offset };
}

/** The one record of a snapshot file, which is renamed into place whole: anything but a perfect record is corruption. */
export function readOnlyRecord(bytes: Uint8Array, payloadBytesMax: number, file: string): Uint8Array {
  const record = recordAt(bytes, headerBytes, payloadBytesMax);
  switch (record.kind) {
    case 'too-long':
      throw new StorageCorruptionError(
        file,
        headerBytes,
        `record length ${record.length} is above the limit of ${payloadBytesMax}`,
      );
    case 'cut-off':
      throw new StorageCorruptionError(file, headerBytes, describeCutOff(record));
    case 'checksum-mismatch':
      throw new StorageCorruptionError(file, headerBytes, 'record checksum mismatch');
    case 'valid':
      if (record.end !== bytes.length) {
        throw new StorageCorruptionError(
          file,
          record.end,
          `${bytes.length - record.end} unexpected bytes after the record`,
        );
      }
      return record.payload;
  }
}

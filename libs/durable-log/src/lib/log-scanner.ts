// Splits a WAL into its records and tells a torn last write (a crash during
// an append that was never acknowledged) from corruption (damage to records
// that were acknowledged). Every append is fsynced before the next begins,
// so only the last record can be torn; damage anywhere else refuses.
//
// A torn append leaves its record cut short (the file ends inside it) or
// not there at all (only zero bytes where the file grew). Anything else
// that is not a valid record, notably a complete record failing its
// checksum, is refused even at the end of the file: that record may have
// been acknowledged, and dropping it could break a promise, an accept or an
// entry that peers rely on. README.md lists what cannot be told apart.
import type { FileHeader } from './file-header';
import {
  checksumHoldsWithLength,
  describeCutOff,
  recordAt,
  recordHeaderBytes,
  uint32At,
  type RecordAt,
} from './record-framing';
import { StorageCorruptionError } from './storage-corruption-error';

export interface ScannedRecord {
  offset: number;
  payload: Uint8Array;
}

/** What reading a file's records needs from its header: where they start, and the salt their checksums are seeded with. */
export type RecordsLayout = Pick<FileHeader, 'recordsStart' | 'salt'>;

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

type IntactRecordSearch = { kind: 'found'; offset: number } | { kind: 'none' } | { kind: 'over-budget' };

/**
 * Where, after the bad record at `offset`, valid records start that chain
 * exactly to the end of the file: what a damaged length field in the middle
 * of the log leaves (the records after it are intact), and what a torn last
 * write cannot. Chains are followed through length fields alone, from the
 * end backwards so each offset is visited once; only chain starts are
 * checksummed, within a budget, past which the answer is unknown. A chain
 * start may lie inside a torn append's payload, among bytes a client chose:
 * in a salted file a frame there does not validate (record-framing.ts).
 */
function intactRecordsAfter(
  bytes: Uint8Array,
  offset: number,
  payloadBytesMax: number,
  salt: bigint | undefined,
): IntactRecordSearch {
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
    const candidate = recordAt(bytes, offset + index, payloadBytesMax, salt);
    if (candidate.kind === 'valid') return { kind: 'found', offset: offset + index };
    spentBytes += uint32At(bytes, offset + index);
    if (spentBytes > budgetBytes) return { kind: 'over-budget' };
  }
  return { kind: 'none' };
}

/** A record the file ends inside of: torn, unless what is there shows a complete record or intact records after it. */
function tornUnlessComplete(
  bytes: Uint8Array,
  offset: number,
  record: Extract<RecordAt, { kind: 'cut-off' }>,
  payloadBytesMax: number,
  salt: bigint | undefined,
  file: string,
): void {
  const problem = describeCutOff(record);
  const restBytes = bytes.length - offset - recordHeaderBytes;
  if (record.length !== undefined && checksumHoldsWithLength(bytes, offset, restBytes, salt)) {
    throw new StorageCorruptionError(
      file,
      offset,
      `${problem}, yet the record's checksum holds for the ${restBytes} bytes there: a damaged length field, not a torn last write`,
    );
  }
  const search = intactRecordsAfter(bytes, offset, payloadBytesMax, salt);
  if (search.kind === 'found') {
    throw new StorageCorruptionError(
      file,
      offset,
      `${problem}, yet intact records follow from byte ${search.offset}: a damaged length, not a torn last write`,
    );
  }
  if (search.kind === 'over-budget') {
    throw new StorageCorruptionError(
      file,
      offset,
      'cannot prove the cut-off record is a torn last write: searching the rest of the file for intact records exceeded its budget',
    );
  }
}

/** A complete record failing its checksum: always corruption; the search only says which damage is likelier. */
function checksumMismatch(
  bytes: Uint8Array,
  offset: number,
  end: number,
  payloadBytesMax: number,
  salt: bigint | undefined,
  file: string,
): never {
  if (end !== bytes.length) {
    throw new StorageCorruptionError(
      file,
      offset,
      `record checksum mismatch with ${bytes.length - end} more bytes after it, so not a torn last write`,
    );
  }
  const search = intactRecordsAfter(bytes, offset, payloadBytesMax, salt);
  if (search.kind === 'found') {
    throw new StorageCorruptionError(
      file,
      offset,
      `record checksum mismatch, yet intact records follow from byte ${search.offset}: a damaged length, not a torn last write`,
    );
  }
  throw new StorageCorruptionError(
    file,
    offset,
    `record checksum mismatch in the last record, which is complete (${end - offset - recordHeaderBytes}-byte payload): damage to an acknowledged append, not a torn one`,
  );
}

/**
 * The records of a file (`bytes`, from its start) after its header. Torn, and so dropped, is only a tail after
 * the last valid record that is all zero bytes (the file grew but the data
 * never reached the disk, or was preallocated), or one record the file ends
 * inside of when neither its checksum (with its length taken as the rest of
 * the file) nor intact records after it show a damaged length instead.
 * Anything else that is not a valid record is corruption.
 */
export function scanLog(bytes: Uint8Array, layout: RecordsLayout, payloadBytesMax: number, file: string): ScannedLog {
  const { salt } = layout;
  const records: ScannedRecord[] = [];
  let offset = layout.recordsStart;
  while (offset < bytes.length) {
    const record = recordAt(bytes, offset, payloadBytesMax, salt);
    if (record.kind === 'valid') {
      records.push({ offset, payload: record.payload });
      offset = record.end;
      continue;
    }
    // Checked only here, past the last valid record, so the scan stays linear. No valid record is all zeros.
    if (zeroFrom(bytes, offset)) break;
    switch (record.kind) {
      case 'too-long':
        throw new StorageCorruptionError(
          file,
          offset,
          `record length ${record.length} is above the limit of ${payloadBytesMax}`,
        );
      case 'checksum-mismatch':
        return checksumMismatch(bytes, offset, record.end, payloadBytesMax, salt, file);
      case 'cut-off':
        tornUnlessComplete(bytes, offset, record, payloadBytesMax, salt, file);
        return { records, validBytes: offset };
    }
  }
  return { records, validBytes: offset };
}

/**
 * The one record of a file that holds exactly one after its header (a
 * snapshot file), renamed into place whole: anything but a perfect record is
 * corruption.
 */
export function readOnlyRecord(
  bytes: Uint8Array,
  layout: RecordsLayout,
  payloadBytesMax: number,
  file: string,
): Uint8Array {
  const start = layout.recordsStart;
  const record = recordAt(bytes, start, payloadBytesMax, layout.salt);
  switch (record.kind) {
    case 'too-long':
      throw new StorageCorruptionError(
        file,
        start,
        `record length ${record.length} is above the limit of ${payloadBytesMax}`,
      );
    case 'cut-off':
      throw new StorageCorruptionError(file, start, describeCutOff(record));
    case 'checksum-mismatch':
      throw new StorageCorruptionError(file, start, 'record checksum mismatch');
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

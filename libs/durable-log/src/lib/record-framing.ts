// The record framing both stores' files use after their header (each
// store's README has its whole layout). Every integer is little-endian.
//
//   record  [length u32][checksum u32][payload: length bytes]
//   checksum = crc32c of [salt u64][offset u64][length field][payload]: the file's salt (from its
//              header), where the record starts in the file, then the record; a salted checksum of
//              0 is written as 1.
//              In a file of a version before salts: crc32c of [length field][payload].
//
// The salt and offset tie a record to where its file's writer put it. A
// payload holds bytes others chose (a client's value), which may frame a
// record; a frame is only ever looked for where a record could start, but
// the torn-tail search (log-scanner.ts) looks at every offset after a
// damaged record, and a frame inside a torn append's payload that validated
// there would make a torn tail look like mid-log corruption, and the store
// refuse to open. Seeded, such a frame validates with the chance of a
// random 32-bit match, whoever made it: the salt is never shown outside the
// file, and a frame copied from elsewhere in the file carries another offset.
//
// The checksum covers the length field too: a zero-filled region (a file
// extended by a crash before its data reached the disk) would otherwise read
// as a valid empty record, since crc32c of nothing is 0. Salted, an empty
// record's checksum could still be 0 at some (salt, offset), one in 2^32:
// so a salted checksum is never 0, and zeros never read as a record.
import { crc32c } from './crc32c';

/** A file being rewritten is built under this suffix and renamed over the real one when complete. */
export const tempSuffix = '.tmp';
/** Bytes of a record's header: its length and checksum fields. */
export const recordHeaderBytes = 8;

/** Where a record is written: its file's salt and its offset in that file. Its checksum holds only there. */
export interface RecordPlace {
  readonly salt: bigint;
  readonly offset: number;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const checksumSeedBytes = new Uint8Array(16);
const checksumSeedView = viewOf(checksumSeedBytes);

/**
 * The checksum of the record at `offset` whose length field and payload are
 * these: salted in a file with a salt, else (a version before salts) of the
 * record alone.
 */
function recordChecksum(
  salt: bigint | undefined,
  offset: number,
  lengthField: Uint8Array,
  payload: Uint8Array,
): number {
  if (salt === undefined) return crc32c(payload, crc32c(lengthField));
  checksumSeedView.setBigUint64(0, salt, true);
  checksumSeedView.setBigUint64(8, BigInt(offset), true);
  const checksum = crc32c(payload, crc32c(lengthField, crc32c(checksumSeedBytes)));
  return checksum === 0 ? 1 : checksum;
}

/** `payload` as a record written at `place`: its length, its checksum, then the payload. */
export function frameRecord(payload: Uint8Array, place: RecordPlace): Uint8Array {
  const record = new Uint8Array(recordHeaderBytes + payload.length);
  const view = viewOf(record);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, recordChecksum(place.salt, place.offset, record.subarray(0, 4), payload), true);
  record.set(payload, recordHeaderBytes);
  return record;
}

/**
 * Whether the record at `offset` of a file (`bytes` from its start, salted
 * with `salt`) checksums as a whole record when its length is taken to be
 * `payloadBytes`, the rest of the file, rather than what its length field
 * says: a complete record whose length field was damaged, which a torn
 * append (missing its last bytes) cannot pass.
 */
export function checksumHoldsWithLength(
  bytes: Uint8Array,
  offset: number,
  payloadBytes: number,
  salt: bigint | undefined,
): boolean {
  const lengthField = new Uint8Array(4);
  viewOf(lengthField).setUint32(0, payloadBytes, true);
  const payloadStart = offset + recordHeaderBytes;
  const payload = bytes.subarray(payloadStart, payloadStart + payloadBytes);
  return uint32At(bytes, offset + 4) === recordChecksum(salt, offset, lengthField, payload);
}

/** Reads a little-endian u32 without allocating: the torn-tail search calls this at every byte offset. */
export function uint32At(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] as number) |
      ((bytes[offset + 1] as number) << 8) |
      ((bytes[offset + 2] as number) << 16) |
      ((bytes[offset + 3] as number) << 24)) >>>
    0
  );
}

/**
 * What is at `offset`: a whole record, one cut off by the end of the file
 * (`length` undefined when the cut is inside its header), one failing its
 * checksum, or one whose length is above the limit.
 */
export type RecordAt =
  | { kind: 'valid'; payload: Uint8Array; end: number }
  | { kind: 'cut-off'; presentBytes: number; length: number | undefined }
  | { kind: 'checksum-mismatch'; end: number }
  | { kind: 'too-long'; length: number };

/** What is at `offset` of a file salted with `salt`: `bytes` are the file from its start, as the checksum covers the offset. */
export function recordAt(
  bytes: Uint8Array,
  offset: number,
  payloadBytesMax: number,
  salt: bigint | undefined,
): RecordAt {
  const presentBytes = bytes.length - offset;
  if (presentBytes < recordHeaderBytes) return { kind: 'cut-off', presentBytes, length: undefined };
  const length = uint32At(bytes, offset);
  if (length > payloadBytesMax) return { kind: 'too-long', length };
  const end = offset + recordHeaderBytes + length;
  if (end > bytes.length) return { kind: 'cut-off', presentBytes, length };
  const payload = bytes.subarray(offset + recordHeaderBytes, end);
  const checksum = recordChecksum(salt, offset, bytes.subarray(offset, offset + 4), payload);
  return uint32At(bytes, offset + 4) === checksum
    ? { kind: 'valid', payload, end }
    : { kind: 'checksum-mismatch', end };
}

export function describeCutOff(record: Extract<RecordAt, { kind: 'cut-off' }>): string {
  return record.length === undefined
    ? `the file ends ${record.presentBytes} bytes into a ${recordHeaderBytes}-byte record header`
    : `the file ends ${record.presentBytes - recordHeaderBytes} bytes into a ${record.length}-byte payload`;
}

/** The parts one after another, in one new array (a record's payload from its encoded fields). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

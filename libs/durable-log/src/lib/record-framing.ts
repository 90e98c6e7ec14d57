// The record framing both stores' files use after their header (each
// store's README has its whole layout). Every integer is little-endian.
//
//   header  [headerBytes bytes, the store's own: magic, version, generation, checksum]
//   record  [length u32][crc32c u32 of length bytes + payload][payload: length bytes]
//
// The record checksum covers its length field too: a zero-filled region
// (a file extended by a crash before its data reached the disk) would
// otherwise read as a valid empty record, since crc32c of nothing is 0.
import { crc32c } from './crc32c';

/** A file being rewritten is built under this suffix and renamed over the real one when complete. */
export const tempSuffix = '.tmp';
/** Bytes of the header every file starts with; records start after it. */
export const headerBytes = 20;
/** Bytes of a record's header: its length and checksum fields. */
export const recordHeaderBytes = 8;

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function recordChecksum(lengthField: Uint8Array, payload: Uint8Array): number {
  return crc32c(payload, crc32c(lengthField));
}

/** `payload` as a record: its length, the checksum of that length and the payload, then the payload. */
export function frameRecord(payload: Uint8Array): Uint8Array {
  const record = new Uint8Array(recordHeaderBytes + payload.length);
  const view = viewOf(record);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, recordChecksum(record.subarray(0, 4), payload), true);
  record.set(payload, recordHeaderBytes);
  return record;
}

/**
 * Whether the record at `offset` checksums as a whole record when its
 * length is taken to be `payloadBytes`, the rest of the file, rather than
 * what its length field says: a complete record whose length field was
 * damaged, which a torn append (missing its last bytes) cannot pass.
 */
export function checksumHoldsWithLength(bytes: Uint8Array, offset: number, payloadBytes: number): boolean {
  const lengthField = new Uint8Array(4);
  viewOf(lengthField).setUint32(0, payloadBytes, true);
  const payloadStart = offset + recordHeaderBytes;
  const payload = bytes.subarray(payloadStart, payloadStart + payloadBytes);
  return uint32At(bytes, offset + 4) === recordChecksum(lengthField, payload);
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

export function recordAt(bytes: Uint8Array, offset: number, payloadBytesMax: number): RecordAt {
  const presentBytes = bytes.length - offset;
  if (presentBytes < recordHeaderBytes) return { kind: 'cut-off', presentBytes, length: undefined };
  const length = uint32At(bytes, offset);
  if (length > payloadBytesMax) return { kind: 'too-long', length };
  const end = offset + recordHeaderBytes + length;
  if (end > bytes.length) return { kind: 'cut-off', presentBytes, length };
  const payload = bytes.subarray(offset + recordHeaderBytes, end);
  const checksum = recordChecksum(bytes.subarray(offset, offset + 4), payload);
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

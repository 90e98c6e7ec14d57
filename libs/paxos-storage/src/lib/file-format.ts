// The byte layout shared by the WAL and the snapshot file (README.md has the
// full description). Every integer is little-endian.
//
//   header  [magic 4][version u32][generation u64][crc32c u32 of the 16 bytes before]
//   record  [length u32][crc32c u32 of length bytes + payload][payload: length bytes]
//
// The record checksum covers its length field too: a zero-filled region
// (a file extended by a crash before its data reached the disk) would
// otherwise read as a valid empty record, since crc32c of nothing is 0.
import { crc32c } from './crc32c';
import { StorageCorruptionError } from './storage-corruption-error';

export type FileKind = 'wal' | 'snapshot';

export const walFileName = 'paxos.wal';
export const snapshotFileName = 'paxos.snapshot';
/** A file being rewritten is built under this suffix and renamed over the real one when complete. */
export const tempSuffix = '.tmp';

/**
 * The version written. 2: a WAL's chosen entries may be stored as "the
 * accepted value" (batch-codec.ts). Version 1 files are read too (their
 * records are version 2 records without that), and open rewrites a version 1
 * WAL before appending, so no file mixes the two.
 */
export const formatVersion = 2;
const oldestReadableFormatVersion = 1;
export const chosenReferencesSinceFormatVersion = 2;
export const headerBytes = 20;
export const recordHeaderBytes = 8;

const magicByKind: Record<FileKind, string> = { wal: 'PXWL', snapshot: 'PXSN' };

function magicBytes(kind: FileKind): Uint8Array {
  return new TextEncoder().encode(magicByKind[kind]);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The header of a WAL or snapshot file. `generation` counts snapshots: a
 * snapshot file and the WAL written after it share one, which is how
 * recovery tells a finished snapshot from one whose WAL rewrite was cut short.
 */
export function encodeHeader(kind: FileKind, generation: bigint): Uint8Array {
  const header = new Uint8Array(headerBytes);
  const view = viewOf(header);
  header.set(magicBytes(kind), 0);
  view.setUint32(4, formatVersion, true);
  view.setBigUint64(8, generation, true);
  view.setUint32(16, crc32c(header.subarray(0, 16)), true);
  return header;
}

export interface FileHeader {
  generation: bigint;
  formatVersion: number;
}

/** Checks a file's header and returns its generation and format version. */
export function parseHeader(bytes: Uint8Array, kind: FileKind, file: string): FileHeader {
  if (bytes.length < headerBytes) {
    throw new StorageCorruptionError(
      file,
      0,
      `file has ${bytes.length} bytes, fewer than its ${headerBytes}-byte header`,
    );
  }
  const view = viewOf(bytes);
  const magic = bytes.subarray(0, 4);
  const expected = magicBytes(kind);
  if (!magic.every((byte, index) => byte === expected[index])) {
    const found = Buffer.from(magic).toString('hex');
    throw new StorageCorruptionError(
      file,
      0,
      `magic is 0x${found}, not "${magicByKind[kind]}" of a Paxos ${kind} file`,
    );
  }
  if (view.getUint32(16, true) !== crc32c(bytes.subarray(0, 16))) {
    throw new StorageCorruptionError(file, 16, 'header checksum mismatch');
  }
  const version = view.getUint32(4, true);
  if (version < oldestReadableFormatVersion || version > formatVersion) {
    throw new StorageCorruptionError(
      file,
      4,
      `format version ${version} is not supported (this build reads ${oldestReadableFormatVersion} to ${formatVersion})`,
    );
  }
  return { generation: view.getBigUint64(8, true), formatVersion: version };
}

function recordChecksum(lengthField: Uint8Array, payload: Uint8Array): number {
  return crc32c(payload, crc32c(lengthField));
}

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

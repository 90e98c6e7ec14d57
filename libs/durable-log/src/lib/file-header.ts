// The header every durable file starts with; each store names its files'
// magic and format versions. Little-endian:
//   [magic 4][version u32][generation u64][crc32c u32 of the 16 bytes before]   every version: 20 bytes
//   [salt u64][crc32c u32 of the 28 bytes before]                               from saltedSinceVersion: 12 more
// The first 20 bytes keep one layout in every version, so a build checks them
// before it knows the version, and names a version it does not read rather
// than a checksum mismatch. The salt is random per file; each record's
// checksum is seeded with it and with the record's offset (record-framing.ts).
// `generation` counts snapshots: a snapshot file and the log written after
// it share one, which tells a finished snapshot from one whose log rewrite a
// crash cut short.
import { randomBytes } from 'node:crypto';
import { crc32c } from './crc32c';
import { StorageCorruptionError } from './storage-corruption-error';

/** Bytes of the header of a version before salts: its records start after it. */
export const unsaltedHeaderBytes = 20;
/** Bytes of the header this build writes, the longest of any version: a new file's records start after it. */
export const headerBytes = 32;

export interface FileHeaderFormat {
  /** Four ASCII characters. */
  readonly magic: string;
  /** What the file is, for errors: "a Paxos wal file". */
  readonly description: string;
  /** The version written; at least saltedSinceVersion. */
  readonly version: number;
  /** The oldest version read. */
  readonly oldestReadableVersion: number;
  /** The first version whose header holds a salt; records of older versions are checksummed without one. */
  readonly saltedSinceVersion: number;
}

export interface FileHeader {
  readonly generation: bigint;
  readonly formatVersion: number;
  /** Where the first record starts: the header's length. */
  readonly recordsStart: number;
  /** What the records' checksums are seeded with; undefined in a version before salts. */
  readonly salt: bigint | undefined;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A fresh random salt: each new file gets its own, so no record of one file validates in another. */
export function newFileSalt(): bigint {
  return randomBytes(8).readBigUInt64LE(0);
}

/** The header of a new file of `format`'s current version. */
export function encodeFileHeader(format: FileHeaderFormat, generation: bigint, salt: bigint): Uint8Array {
  const header = new Uint8Array(headerBytes);
  const view = viewOf(header);
  header.set(new TextEncoder().encode(format.magic), 0);
  view.setUint32(4, format.version, true);
  view.setBigUint64(8, generation, true);
  view.setUint32(16, crc32c(header.subarray(0, 16)), true);
  view.setBigUint64(20, salt, true);
  view.setUint32(28, crc32c(header.subarray(0, 28)), true);
  return header;
}

/** Checks a file's header (its first bytes: the whole file, or at least headerBytes of it when it has them). */
export function parseFileHeader(bytes: Uint8Array, format: FileHeaderFormat, file: string): FileHeader {
  if (bytes.length < unsaltedHeaderBytes) {
    throw new StorageCorruptionError(
      file,
      0,
      `file has ${bytes.length} bytes, fewer than its ${unsaltedHeaderBytes}-byte header`,
    );
  }
  const view = viewOf(bytes);
  const magic = bytes.subarray(0, 4);
  const expected = new TextEncoder().encode(format.magic);
  if (!magic.every((byte, index) => byte === expected[index])) {
    const found = Buffer.from(magic).toString('hex');
    throw new StorageCorruptionError(file, 0, `magic is 0x${found}, not "${format.magic}" of ${format.description}`);
  }
  if (view.getUint32(16, true) !== crc32c(bytes.subarray(0, 16))) {
    throw new StorageCorruptionError(file, 16, 'header checksum mismatch');
  }
  const version = view.getUint32(4, true);
  if (version < format.oldestReadableVersion || version > format.version) {
    const readable =
      format.oldestReadableVersion === format.version
        ? `${format.version}`
        : `${format.oldestReadableVersion} to ${format.version}`;
    throw new StorageCorruptionError(
      file,
      4,
      `format version ${version} is not supported (this build reads ${readable})`,
    );
  }
  const generation = view.getBigUint64(8, true);
  if (version < format.saltedSinceVersion) {
    return { generation, formatVersion: version, recordsStart: unsaltedHeaderBytes, salt: undefined };
  }
  if (bytes.length < headerBytes) {
    throw new StorageCorruptionError(
      file,
      0,
      `file has ${bytes.length} bytes, fewer than its ${headerBytes}-byte header (format version ${version})`,
    );
  }
  if (view.getUint32(28, true) !== crc32c(bytes.subarray(0, 28))) {
    throw new StorageCorruptionError(file, 28, 'header checksum mismatch');
  }
  return { generation, formatVersion: version, recordsStart: headerBytes, salt: view.getBigUint64(20, true) };
}

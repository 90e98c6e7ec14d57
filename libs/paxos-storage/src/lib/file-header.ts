// The two Paxos files, their names and the header each starts with (README.md
// has the full layout); the records after it are @bulwark/durable-log's
// framing. Every integer is little-endian.
//
//   header  [magic 4][version u32][generation u64][crc32c u32 of the 16 bytes before]
import { crc32c, headerBytes, StorageCorruptionError } from '@bulwark/durable-log';

export type FileKind = 'wal' | 'snapshot';

export const walFileName = 'paxos.wal';
export const snapshotFileName = 'paxos.snapshot';

/**
 * The version written. 2: a WAL's chosen entries may be stored as "the
 * accepted value" (batch-codec.ts). Version 1 files are read too (their
 * records are version 2 records without that), and open rewrites a version 1
 * WAL before appending, so no file mixes the two.
 */
export const formatVersion = 2;
const oldestReadableFormatVersion = 1;
export const chosenReferencesSinceFormatVersion = 2;

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

// The two Paxos files, their names and the header each starts with (README.md
// has the full layout); the records after it are @bulwark/durable-log's
// framing. Every integer is little-endian.
//
//   header  [magic 4][version u32][generation u64][crc32c u32 of the 16 bytes before]
import { encodeFileHeader, parseFileHeader, type FileHeader, type FileHeaderFormat } from '@bulwark/durable-log';

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
const oldestReadableVersion = 1;
export const chosenReferencesSinceFormatVersion = 2;

const formats: Record<FileKind, FileHeaderFormat> = {
  wal: { magic: 'PXWL', description: 'a Paxos wal file', version: formatVersion, oldestReadableVersion },
  snapshot: { magic: 'PXSN', description: 'a Paxos snapshot file', version: formatVersion, oldestReadableVersion },
};

/**
 * The header of a WAL or snapshot file. `generation` counts snapshots: a
 * snapshot file and the WAL written after it share one, which is how
 * recovery tells a finished snapshot from one whose WAL rewrite was cut short.
 */
export function encodeHeader(kind: FileKind, generation: bigint): Uint8Array {
  return encodeFileHeader(formats[kind], generation);
}

/** Checks a file's header and returns its generation and format version. */
export function parseHeader(bytes: Uint8Array, kind: FileKind, file: string): FileHeader {
  return parseFileHeader(bytes, formats[kind], file);
}

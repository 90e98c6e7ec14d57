// The two Paxos files, their names and the header each starts with (README.md
// has the full layout); the records after it are @bulwark/durable-log's
// framing. Every integer is little-endian.
//
//   header  [magic 4][version u32][generation u64][crc32c u32 of the 16 bytes before]
//           [salt u64][crc32c u32 of the 28 bytes before]   (version 3 on; records' checksums are seeded with it)
import {
  encodeRecordFile,
  parseFileHeader,
  type FileHeader,
  type FileHeaderFormat,
  type NewRecordFile,
} from '@bulwark/durable-log';

export type FileKind = 'wal' | 'snapshot';

export const walFileName = 'paxos.wal';
export const snapshotFileName = 'paxos.snapshot';

/**
 * The version written. 2: a WAL's chosen entries may be stored as "the
 * accepted value" (batch-codec.ts). 3: the header holds a salt, and each
 * record's checksum is seeded with it and the record's offset, so a frame
 * inside a command never passes for a record. Versions 1 and 2 are read too,
 * by their own rules, and open rewrites an older WAL before appending, so no
 * file mixes two versions.
 */
export const formatVersion = 3;
const oldestReadableVersion = 1;
export const chosenReferencesSinceFormatVersion = 2;
const saltedSinceVersion = 3;

const formats: Record<FileKind, FileHeaderFormat> = {
  wal: {
    magic: 'PXWL',
    description: 'a Paxos wal file',
    version: formatVersion,
    oldestReadableVersion,
    saltedSinceVersion,
  },
  snapshot: {
    magic: 'PXSN',
    description: 'a Paxos snapshot file',
    version: formatVersion,
    oldestReadableVersion,
    saltedSinceVersion,
  },
};

/**
 * A new WAL or snapshot file holding `payloads`, one record each.
 * `generation` counts snapshots: a snapshot file and the WAL written after
 * it share one, which is how recovery tells a finished snapshot from one
 * whose WAL rewrite was cut short.
 */
export function encodeFile(kind: FileKind, generation: bigint, payloads: readonly Uint8Array[]): NewRecordFile {
  return encodeRecordFile(formats[kind], generation, payloads);
}

/** Checks a file's header and returns its generation, format version, and where and how its records are read. */
export function parseHeader(bytes: Uint8Array, kind: FileKind, file: string): FileHeader {
  return parseFileHeader(bytes, formats[kind], file);
}

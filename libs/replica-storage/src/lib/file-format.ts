// File names and the header both files start with (README.md has the whole
// layout). Records after the header are @bulwark/durable-log's:
//   [length u32][crc32c u32 of the file's salt, the record's offset, the length field + payload][payload]
// so the WAL is scanned, and its torn tail told from corruption, by the
// same code as the coordinator's.
import {
  encodeRecordFile,
  parseFileHeader,
  tempSuffix,
  type FileHeader,
  type FileHeaderFormat,
  type NewRecordFile,
} from '@bulwark/durable-log';

export const walFileName = 'wal';
export const snapshotFileName = 'snapshot';
export const walTempFileName = walFileName + tempSuffix;
export const snapshotTempFileName = snapshotFileName + tempSuffix;

/**
 * The version written. 2: the header holds a salt, and each record's
 * checksum is seeded with it and the record's offset, so a frame inside a
 * command never passes for a record. Version 1 files are read too, by their
 * own rule, and open rewrites a version 1 WAL before appending, so no file
 * mixes two versions.
 */
export const formatVersion = 2;
const oldestReadableVersion = 1;
const saltedSinceVersion = 2;

export type FileKind = 'wal' | 'snapshot';

const formats: Record<FileKind, FileHeaderFormat> = {
  wal: {
    magic: 'RPWL',
    description: 'a replica wal file',
    version: formatVersion,
    oldestReadableVersion,
    saltedSinceVersion,
  },
  snapshot: {
    magic: 'RPSN',
    description: 'a replica snapshot file',
    version: formatVersion,
    oldestReadableVersion,
    saltedSinceVersion,
  },
};

/** A new WAL or snapshot file ([magic "RPWL" | "RPSN"][version][generation][crc32c][salt][crc32c]) holding `payloads`, one record each. */
export function encodeFile(kind: FileKind, generation: bigint, payloads: readonly Uint8Array[]): NewRecordFile {
  return encodeRecordFile(formats[kind], generation, payloads);
}

/** Checks a file's header (its first bytes: the whole file, or at least headerBytes of it when it has them). */
export function parseHeader(bytes: Uint8Array, kind: FileKind, file: string): FileHeader {
  return parseFileHeader(bytes, formats[kind], file);
}

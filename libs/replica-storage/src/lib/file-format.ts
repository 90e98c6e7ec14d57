// File names and the header both files start with (README.md has the whole
// layout). Records after the header are @bulwark/durable-log's:
//   [length u32][crc32c u32 of the length field + payload][payload]
// so the WAL is scanned, and its torn tail told from corruption, by the
// same code as the coordinator's.
import {
  encodeFileHeader,
  headerBytes,
  parseFileHeader,
  tempSuffix,
  type FileHeaderFormat,
} from '@bulwark/durable-log';

export const walFileName = 'wal';
export const snapshotFileName = 'snapshot';
export const walTempFileName = walFileName + tempSuffix;
export const snapshotTempFileName = snapshotFileName + tempSuffix;

export const formatVersion = 1;

export type FileKind = 'wal' | 'snapshot';

const formats: Record<FileKind, FileHeaderFormat> = {
  wal: { magic: 'RPWL', description: 'a replica wal file', version: formatVersion, oldestReadableVersion: 1 },
  snapshot: {
    magic: 'RPSN',
    description: 'a replica snapshot file',
    version: formatVersion,
    oldestReadableVersion: 1,
  },
};

export { headerBytes };

/** The header of a WAL or snapshot file ([magic "RPWL" | "RPSN"][version][generation][crc32c]). */
export function encodeHeader(kind: FileKind, generation: bigint): Uint8Array {
  return encodeFileHeader(formats[kind], generation);
}

/** Checks a file's header (its first headerBytes bytes, or fewer if the file is shorter) and returns its generation. */
export function parseHeader(bytes: Uint8Array, kind: FileKind, file: string): bigint {
  return parseFileHeader(bytes, formats[kind], file).generation;
}

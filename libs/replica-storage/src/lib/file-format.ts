// File names and the header both files start with (README.md has the whole
// layout). Records after the header are @bulwark/durable-log's:
//   [length u32][crc32c u32 of the length field + payload][payload]
// so the WAL is scanned, and its torn tail told from corruption, by the
// same code as the coordinator's.
import { crc32c, headerBytes, StorageCorruptionError, tempSuffix } from '@bulwark/durable-log';

export const walFileName = 'wal';
export const snapshotFileName = 'snapshot';
export const walTempFileName = walFileName + tempSuffix;
export const snapshotTempFileName = snapshotFileName + tempSuffix;

export const formatVersion = 1;

export type FileKind = 'wal' | 'snapshot';

const magicByKind: Record<FileKind, string> = { wal: 'RPWL', snapshot: 'RPSN' };

export { headerBytes };

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 *   header (20 bytes)  [magic 4: "RPWL" | "RPSN"][version u32][generation u64][crc32c u32 of the 16 bytes before]
 *
 * `generation` counts snapshots: a snapshot file and the WAL rewritten
 * after it share one, which tells a finished snapshot from one whose WAL
 * rewrite a crash cut short.
 */
export function encodeHeader(kind: FileKind, generation: bigint): Uint8Array {
  const header = new Uint8Array(headerBytes);
  const view = viewOf(header);
  header.set(new TextEncoder().encode(magicByKind[kind]), 0);
  view.setUint32(4, formatVersion, true);
  view.setBigUint64(8, generation, true);
  view.setUint32(16, crc32c(header.subarray(0, 16)), true);
  return header;
}

/** Checks a file's header (its first headerBytes bytes, or fewer if the file is shorter) and returns its generation. */
export function parseHeader(bytes: Uint8Array, kind: FileKind, file: string): bigint {
  if (bytes.length < headerBytes) {
    throw new StorageCorruptionError(
      file,
      0,
      `file has ${bytes.length} bytes, fewer than its ${headerBytes}-byte header`,
    );
  }
  const view = viewOf(bytes);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== magicByKind[kind]) {
    const found = Buffer.from(bytes.subarray(0, 4)).toString('hex');
    throw new StorageCorruptionError(
      file,
      0,
      `magic is 0x${found}, not "${magicByKind[kind]}" of a replica ${kind} file`,
    );
  }
  if (view.getUint32(16, true) !== crc32c(bytes.subarray(0, 16))) {
    throw new StorageCorruptionError(file, 16, 'header checksum mismatch');
  }
  const version = view.getUint32(4, true);
  if (version !== formatVersion) {
    throw new StorageCorruptionError(
      file,
      4,
      `format version ${version} is not supported (this build reads ${formatVersion})`,
    );
  }
  return view.getBigUint64(8, true);
}

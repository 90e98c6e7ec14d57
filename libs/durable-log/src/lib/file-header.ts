// The 20-byte header every durable file starts with; each store names its
// files' magic and format versions. Little-endian:
//   [magic 4][version u32][generation u64][crc32c u32 of the 16 bytes before]
// `generation` counts snapshots: a snapshot file and the log written after
// it share one, which tells a finished snapshot from one whose log rewrite a
// crash cut short.
import { crc32c } from './crc32c';
import { headerBytes } from './record-framing';
import { StorageCorruptionError } from './storage-corruption-error';

export interface FileHeaderFormat {
  /** Four ASCII characters. */
  readonly magic: string;
  /** What the file is, for errors: "a Paxos wal file". */
  readonly description: string;
  /** The version written. */
  readonly version: number;
  /** The oldest version read. */
  readonly oldestReadableVersion: number;
}

export interface FileHeader {
  readonly generation: bigint;
  readonly formatVersion: number;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeFileHeader(format: FileHeaderFormat, generation: bigint): Uint8Array {
  const header = new Uint8Array(headerBytes);
  const view = viewOf(header);
  header.set(new TextEncoder().encode(format.magic), 0);
  view.setUint32(4, format.version, true);
  view.setBigUint64(8, generation, true);
  view.setUint32(16, crc32c(header.subarray(0, 16)), true);
  return header;
}

/** Checks a file's header (its first headerBytes bytes, or fewer if the file is shorter). */
export function parseFileHeader(bytes: Uint8Array, format: FileHeaderFormat, file: string): FileHeader {
  if (bytes.length < headerBytes) {
    throw new StorageCorruptionError(
      file,
      0,
      `file has ${bytes.length} bytes, fewer than its ${headerBytes}-byte header`,
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
  return { generation: view.getBigUint64(8, true), formatVersion: version };
}

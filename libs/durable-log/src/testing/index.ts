// Files as format versions before salted record checksums wrote them, built
// independently of the lib's own framing, so tests can check that such files
// are still read and that their frames never validate in a salted file.
import { crc32c } from '../lib/crc32c';
import { recordHeaderBytes } from '../lib/record-framing';

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `payload` framed as before salts: [length u32][crc32c u32 of the length field + payload][payload]. */
export function frameUnsaltedRecord(payload: Uint8Array): Uint8Array {
  const record = new Uint8Array(recordHeaderBytes + payload.length);
  const view = viewOf(record);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32c(payload, crc32c(record.subarray(0, 4))), true);
  record.set(payload, recordHeaderBytes);
  return record;
}

/** A whole file as before salts: the 20-byte header [magic][version][generation][crc32c], then each payload framed. */
export function encodeUnsaltedFile(
  header: { magic: string; version: number; generation: bigint },
  payloads: readonly Uint8Array[],
): Uint8Array {
  const headerBytes = new Uint8Array(20);
  const view = viewOf(headerBytes);
  headerBytes.set(new TextEncoder().encode(header.magic), 0);
  view.setUint32(4, header.version, true);
  view.setBigUint64(8, header.generation, true);
  view.setUint32(16, crc32c(headerBytes.subarray(0, 16)), true);
  return Buffer.concat([headerBytes, ...payloads.map(frameUnsaltedRecord)]);
}

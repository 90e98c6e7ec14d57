// A new file of records: a header with a fresh salt, then each payload framed
// at its offset. The salt is returned too, for the records a log appends later.
import { encodeFileHeader, headerBytes, newFileSalt, type FileHeaderFormat } from './file-header';
import { frameRecord } from './record-framing';

export interface NewRecordFile {
  /** The header, then one record per payload. */
  readonly chunks: Uint8Array[];
  readonly salt: bigint;
}

/** A new file of `format`'s current version holding `payloads`, one record each. */
export function encodeRecordFile(
  format: FileHeaderFormat,
  generation: bigint,
  payloads: readonly Uint8Array[],
): NewRecordFile {
  const salt = newFileSalt();
  const chunks = [encodeFileHeader(format, generation, salt)];
  let offset = headerBytes;
  for (const payload of payloads) {
    const record = frameRecord(payload, { salt, offset });
    chunks.push(record);
    offset += record.length;
  }
  return { chunks, salt };
}

// The WAL file as the store keeps it open: written anew by atomic rename
// (holding the whole live state), or continued after its last valid record.
import { continueLogFile, frameRecord, replaceFileAtomically, type OpenLogFile } from '@bulwark/durable-log';
import { encodeLogBatchInPieces, type LogBatch } from './batch-codec';
import { encodeHeader, walFileName } from './file-header';

export type OpenWal = OpenLogFile;

/** A new WAL holding `batch` (the whole live state), replacing the old one by atomic rename. */
export function writeWal(directory: string, generation: bigint, batch: LogBatch, recordBytesMax: number): OpenWal {
  const records = encodeLogBatchInPieces(batch, recordBytesMax).map(frameRecord);
  return replaceFileAtomically(directory, walFileName, [encodeHeader('wal', generation), ...records]);
}

/** Opens the WAL for appending after its last valid record, cutting off a torn tail first. */
export function continueWal(directory: string, validBytes: number, fileBytes: number): OpenWal {
  return continueLogFile(directory, walFileName, validBytes, fileBytes);
}

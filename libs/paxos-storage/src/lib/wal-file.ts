// The WAL file as the store keeps it open: written anew by atomic rename
// (holding the whole live state), or continued after its last valid record.
import { continueLogFile, replaceLogAtomically, type OpenRecordLog } from '@bulwark/durable-log';
import { encodeLogBatchInPieces, type LogBatch } from './batch-codec';
import { encodeFile, walFileName } from './file-header';

export type OpenWal = OpenRecordLog;

/** A new WAL holding `batch` (the whole live state), replacing the old one by atomic rename. */
export function writeWal(directory: string, generation: bigint, batch: LogBatch, recordBytesMax: number): OpenWal {
  return replaceLogAtomically(
    directory,
    walFileName,
    encodeFile('wal', generation, encodeLogBatchInPieces(batch, recordBytesMax)),
  );
}

/** Opens the WAL, whose header holds `salt`, for appending after its last valid record, cutting off a torn tail first. */
export function continueWal(directory: string, salt: bigint, validBytes: number, fileBytes: number): OpenWal {
  return continueLogFile(directory, walFileName, salt, validBytes, fileBytes);
}

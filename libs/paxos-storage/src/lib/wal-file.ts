// The WAL file as the store keeps it open: written anew by atomic rename
// (holding the whole live state), or continued after its last valid record.
import { closeSync, fsyncSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { frameRecord, replaceFileAtomically } from '@bulwark/durable-log';
import { encodeLogBatchInPieces, type LogBatch } from './batch-codec';
import { encodeHeader, walFileName } from './file-header';

export interface OpenWal {
  fd: number;
  bytes: number;
}

/** A new WAL holding `batch` (the whole live state), replacing the old one by atomic rename. */
export function writeWal(directory: string, generation: bigint, batch: LogBatch, recordBytesMax: number): OpenWal {
  const records = encodeLogBatchInPieces(batch, recordBytesMax).map(frameRecord);
  return replaceFileAtomically(directory, walFileName, [encodeHeader('wal', generation), ...records]);
}

/** Opens the WAL for appending after its last valid record, cutting off a torn tail first. */
export function continueWal(directory: string, validBytes: number, fileBytes: number): OpenWal {
  const fd = openSync(join(directory, walFileName), 'r+');
  try {
    if (validBytes < fileBytes) {
      ftruncateSync(fd, validBytes);
      fsyncSync(fd);
    }
    return { fd, bytes: validBytes };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

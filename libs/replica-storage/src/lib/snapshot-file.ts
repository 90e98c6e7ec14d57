// The snapshot file: a header, one record holding the meta, then the data
// as raw bytes. It is written to snapshot.tmp a chunk at a time, so the
// snapshot is never whole in memory, and renamed into place whole, so it is
// never torn: anything but a perfect file is corruption. The meta record has
// fixed-width fields for the data's size and checksum, so its size is known
// before the data and it is written last, in front of it.
//
//   [header 32 (20 in version 1)][record: length u32 | crc32c u32 | SnapshotRecord][data: data_bytes bytes]
import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  concatBytes,
  crc32c,
  errorMessage,
  headerBytes,
  recordAt,
  recordHeaderBytes,
  StorageCorruptionError,
} from '@bulwark/durable-log';
import { FailedPreconditionError, InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';
import { failpoints } from '@bulwark/failpoints';
import { encodeFile, parseHeader, snapshotFileName, snapshotTempFileName } from './file-format';
import { decodeSnapshotRecord, encodeSnapshotRecord } from './record-codec';
import type { KeepEntries, SnapshotChunks, SnapshotMeta, SnapshotPoint, StoredSnapshot } from './replica-types';
import type { ReplicaStorageLimits } from './storage-limits';
import type { StorageIo } from './storage-io';

/** The meta of a snapshot at `position` (copied, so later changes to it cannot reach the store). */
export function snapshotMetaOf(position: SnapshotPoint, dataBytes: bigint, checksum: number): SnapshotMeta {
  return {
    lastSequence: position.lastSequence,
    lastEpoch: position.lastEpoch,
    epochStarts: position.epochStarts.map((start) => ({ epoch: start.epoch, firstSequence: start.firstSequence })),
    dataBytes,
    checksum,
  };
}

/** Size of the chunks a stored snapshot is read in. */
export const snapshotChunkBytes = 1024 * 1024;

/**
 * Streams `chunks` into snapshot.tmp after room for its meta record, then
 * writes the header and meta in front and fsyncs. Returns the meta, with the
 * data's size and checksum. Throws ResourceExhaustedError past
 * snapshotBytesMax; the temp file is left for the next open to remove.
 */
export async function writeSnapshotTemp(
  directory: string,
  generation: bigint,
  position: SnapshotPoint,
  keep: KeepEntries,
  chunks: SnapshotChunks,
  limits: ReplicaStorageLimits,
  io: StorageIo,
): Promise<SnapshotMeta> {
  const recordBytes = recordHeaderBytes + encodeSnapshotRecord(snapshotMetaOf(position, 0n, 0), keep).length;
  const dataOffset = headerBytes + recordBytes;
  const fd = openSync(join(directory, snapshotTempFileName), 'w');
  try {
    await failpoints.passAsync('replica.snapshot.beforeWrite');
    let dataBytes = 0;
    let checksum = 0;
    for await (const chunk of chunks) {
      if (!(chunk instanceof Uint8Array)) throw new InvalidArgumentError('chunks', 'must yield Uint8Array chunks');
      if (dataBytes + chunk.length > limits.snapshotBytesMax) {
        throw new ResourceExhaustedError(
          'snapshotBytesMax',
          `the snapshot's data passed the limit of ${limits.snapshotBytesMax} bytes`,
        );
      }
      await io.writeFully(fd, chunk, dataOffset + dataBytes);
      checksum = crc32c(chunk, checksum);
      dataBytes += chunk.length;
    }
    const meta = snapshotMetaOf(position, BigInt(dataBytes), checksum);
    const front = concatBytes(encodeFile('snapshot', generation, [encodeSnapshotRecord(meta, keep)]).chunks);
    if (front.length !== dataOffset)
      throw new Error('the snapshot meta record changed size once its fields were filled');
    await io.writeFully(fd, front, 0);
    await failpoints.passAsync('replica.snapshot.beforeFsync');
    await io.fsync(fd);
    return meta;
  } finally {
    closeSync(fd);
  }
}

export interface OpenSnapshotFile {
  fd: number;
  generation: bigint;
  meta: SnapshotMeta;
  keep: KeepEntries;
  /** Where the meta record starts in the file: after the header, whose length depends on its version. */
  metaOffset: number;
  /** Where the data starts in the file. */
  dataOffset: number;
}

/** Reads `bytes` bytes at `position`; a short read means the file ends first. */
function readExactlySync(fd: number, bytes: number, position: number): Uint8Array {
  const buffer = new Uint8Array(bytes);
  for (let done = 0; done < bytes;) {
    const read = readSync(fd, buffer, done, bytes - done, position + done);
    if (read === 0) return buffer.subarray(0, done);
    done += read;
  }
  return buffer;
}

/**
 * Opens the snapshot file and checks its header, meta record and size; the
 * data is checked as it is read. Undefined when there is none. Throws
 * StorageCorruptionError naming the file and offset of the damage, and
 * FailedPreconditionError for a snapshot above snapshotBytesMax.
 */
export function openSnapshotFile(directory: string, limits: ReplicaStorageLimits): OpenSnapshotFile | undefined {
  let fd: number;
  try {
    fd = openSync(join(directory, snapshotFileName), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const fileBytes = fstatSync(fd).size;
    // headerBytes is the longest header: a version 1 file's is shorter, and the parse reads only what its version has.
    const header = parseHeader(readExactlySync(fd, headerBytes, 0), 'snapshot', snapshotFileName);
    const metaOffset = header.recordsStart;
    const recordHeader = readExactlySync(fd, recordHeaderBytes, metaOffset);
    const length = recordHeader.length === recordHeaderBytes ? new DataView(recordHeader.buffer).getUint32(0, true) : 0;
    if (length > limits.recordBytesMax) {
      throw new StorageCorruptionError(
        snapshotFileName,
        metaOffset,
        `meta record length ${length} is above the limit of ${limits.recordBytesMax}`,
      );
    }
    const dataOffset = metaOffset + recordHeaderBytes + length;
    if (recordHeader.length < recordHeaderBytes || dataOffset > fileBytes) {
      throw new StorageCorruptionError(snapshotFileName, metaOffset, 'the file ends inside its meta record');
    }
    // From the file's start: the record's checksum covers its offset in the file.
    const record = recordAt(readExactlySync(fd, dataOffset, 0), metaOffset, limits.recordBytesMax, header.salt);
    if (record.kind !== 'valid') {
      throw new StorageCorruptionError(snapshotFileName, metaOffset, 'meta record checksum mismatch');
    }
    let decoded;
    try {
      decoded = decodeSnapshotRecord(record.payload);
    } catch (error) {
      throw new StorageCorruptionError(
        snapshotFileName,
        metaOffset,
        `meta record does not decode: ${errorMessage(error)}`,
      );
    }
    const { meta } = decoded;
    if (meta.dataBytes > BigInt(limits.snapshotBytesMax)) {
      throw new FailedPreconditionError(
        'snapshotBytesMax',
        `${snapshotFileName} holds ${meta.dataBytes} bytes of data, above the limit of ${limits.snapshotBytesMax}; open with a larger snapshotBytesMax`,
      );
    }
    if (BigInt(fileBytes - dataOffset) !== meta.dataBytes) {
      throw new StorageCorruptionError(
        snapshotFileName,
        dataOffset,
        `${fileBytes - dataOffset} bytes of data follow the meta record, which says ${meta.dataBytes}`,
      );
    }
    return { fd, generation: header.generation, meta, keep: decoded.keep, metaOffset, dataOffset };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function checksumMismatch(file: OpenSnapshotFile, computed: number): StorageCorruptionError {
  const hex = (value: number) => `0x${value.toString(16).padStart(8, '0')}`;
  return new StorageCorruptionError(
    snapshotFileName,
    file.dataOffset,
    `data checksum mismatch: the data has ${hex(computed)}, the meta record says ${hex(file.meta.checksum)}`,
  );
}

/** Reads the whole data, a chunk at a time, and throws StorageCorruptionError unless it matches its checksum. */
export function verifySnapshotData(file: OpenSnapshotFile): void {
  const buffer = new Uint8Array(snapshotChunkBytes);
  const end = file.dataOffset + Number(file.meta.dataBytes);
  let checksum = 0;
  for (let position = file.dataOffset; position < end;) {
    const read = readSync(file.fd, buffer, 0, Math.min(buffer.length, end - position), position);
    if (read === 0) throw new StorageCorruptionError(snapshotFileName, position, 'the file ends inside its data');
    checksum = crc32c(buffer.subarray(0, read), checksum);
    position += read;
  }
  if (checksum !== file.meta.checksum) throw checksumMismatch(file, checksum);
}

const readAsync = promisify(read);

/** A snapshot file open for reading: the descriptor keeps this snapshot readable even when a newer one is renamed over it. */
export class FileStoredSnapshot implements StoredSnapshot {
  private fd: number | undefined;
  private chunksTaken = false;

  constructor(private readonly file: OpenSnapshotFile) {
    this.fd = file.fd;
  }

  get meta(): SnapshotMeta {
    return this.file.meta;
  }

  chunks(): AsyncIterable<Uint8Array> {
    if (this.chunksTaken || this.fd === undefined) {
      throw new FailedPreconditionError('snapshot', 'chunks() may be read once, before close()');
    }
    this.chunksTaken = true;
    return this.readChunks();
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private async *readChunks(): AsyncGenerator<Uint8Array> {
    try {
      const end = this.file.dataOffset + Number(this.file.meta.dataBytes);
      let checksum = 0;
      for (let position = this.file.dataOffset; position < end;) {
        const chunk = new Uint8Array(Math.min(snapshotChunkBytes, end - position));
        for (let filled = 0; filled < chunk.length;) {
          if (this.fd === undefined) throw new FailedPreconditionError('snapshot', 'closed while its chunks were read');
          const { bytesRead } = await readAsync(this.fd, chunk, filled, chunk.length - filled, position + filled);
          if (bytesRead === 0) {
            throw new StorageCorruptionError(snapshotFileName, position + filled, 'the file ends inside its data');
          }
          filled += bytesRead;
        }
        checksum = crc32c(chunk, checksum);
        position += chunk.length;
        yield chunk;
      }
      if (checksum !== this.file.meta.checksum) throw checksumMismatch(this.file, checksum);
    } finally {
      this.close();
    }
  }
}

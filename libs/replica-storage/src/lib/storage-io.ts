// The few asynchronous file operations durability rests on, as a parameter
// so tests can count fdatasyncs (group commit) or make one fail (poisoning)
// without mocking modules. A WAL append's write (writeLogRecord: a small
// record on this thread, a large one on the pool) and the synchronous steps
// (rename, directory fsync, rewriting the WAL) use @bulwark/durable-log's
// helpers directly.
import { fsync } from 'node:fs';
import { promisify } from 'node:util';
import { fdatasyncAsync, writeFullyAsync } from '@bulwark/durable-log';

export interface StorageIo {
  /** Writes every byte of a snapshot chunk (which may be large) at `position`, on libuv's thread pool. */
  writeFully(fd: number, bytes: Uint8Array, position: number): Promise<void>;
  /** Makes a WAL append durable. */
  fdatasync(fd: number): Promise<void>;
  /** Makes a snapshot's temp file durable before its rename. */
  fsync(fd: number): Promise<void>;
}

export const nodeIo: StorageIo = {
  writeFully: writeFullyAsync,
  fdatasync: fdatasyncAsync,
  fsync: promisify(fsync),
};

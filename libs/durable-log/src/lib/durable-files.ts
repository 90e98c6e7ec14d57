// The few file operations durability rests on. A write is durable only once
// fsynced; a new or renamed name is durable only once its directory is
// fsynced too; and a file is replaced atomically by writing a temp file in
// full, fsyncing it, and renaming it over the old one. Failpoints
// (file.replace.*) sit before each step of a replacement.
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  write,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { failpoints } from '@bulwark/failpoints';
import { trackLogFile, type OpenLogFile, type OpenRecordLog } from './open-log-files';
import type { NewRecordFile } from './record-file';
import { tempSuffix } from './record-framing';

/** writeSync may write less than asked; loop until every byte is at `position`. */
export function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  for (let written = 0; written < bytes.length;) {
    written += writeSync(fd, bytes, written, bytes.length - written, position + written);
  }
}

const writeAsync = promisify(write);

/** writeFully on libuv's thread pool: the event loop runs on while the bytes are written. */
export async function writeFullyAsync(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    const { bytesWritten } = await writeAsync(fd, bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}

/** Log records up to this size are written on the calling thread. */
export const syncWriteBytesMax = 64 * 1024;

/**
 * Writes a log record at `position`: on this thread when it is small, since
 * copying it into the page cache costs a tenth of a round trip through
 * libuv's thread pool (about 3 µs of CPU against 30 on a 2-core machine);
 * on the pool when it is large, where a write that blocks on writeback
 * would stall the event loop (lease renewals, heartbeats, Paxos timers).
 * Either way a failure rejects.
 */
export async function writeLogRecord(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  if (bytes.length > syncWriteBytesMax) return writeFullyAsync(fd, bytes, position);
  writeFully(fd, bytes, position);
}

/** fdatasync on libuv's thread pool. */
export const fdatasyncAsync: (fd: number) => Promise<void> = promisify(fdatasync);

/**
 * After a log append's write or fdatasync failed: cuts the file back to its
 * durable length and syncs that. The kernel may keep the failed pages in its
 * cache marked clean, so a restart would read the never-acknowledged record
 * back, fsync it "successfully" (the error was reported once, to this
 * descriptor) and count it durable, until the page is evicted and the disk's
 * stale bytes show (PostgreSQL's fsyncgate). Truncating drops those pages.
 * Best effort: the store is failing already, and a failure here leaves only
 * what there was before.
 */
export function cutBackAfterFailedAppend(fd: number, durableBytes: number): void {
  try {
    ftruncateSync(fd, durableBytes);
    fdatasyncSync(fd);
  } catch {
    // Nothing more to do: the caller reports the append's own failure.
  }
}

export function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates `directory` if missing, and syncs the parent of each directory it
 * created, so they survive a crash. When `directory` exists already, its
 * parent is synced all the same: the run that created it may have crashed
 * before that sync, leaving its entry in the page cache only, and a power
 * loss after this run trusted files in it would lose them all. (Ancestors
 * such a run created besides cannot be told from older ones, so are not.)
 */
export function makeDirectoryDurably(directory: string): void {
  const created = mkdirSync(directory, { recursive: true });
  if (created === undefined) {
    // A parent this process may not read (mode 0711) was never needed to use a directory that exists.
    try {
      syncDirectory(dirname(directory));
    } catch (error) {
      if (!isPermissionError(error)) throw error;
    }
    return;
  }
  // Created: every parent up to the first directory mkdir made must be synced, or the directories may vanish.
  for (let child = directory; ; child = dirname(child)) {
    syncDirectory(dirname(child));
    if (child === created) return;
  }
}

function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/** Writes `chunks` to `name.tmp`, fsyncs it, renames it over `name` and fsyncs the directory; the file stays open. */
function replaceAndKeepOpen(directory: string, name: string, chunks: readonly Uint8Array[]): OpenLogFile {
  const target = join(directory, name);
  const fd = openSync(target + tempSuffix, 'w');
  try {
    failpoints.pass('file.replace.beforeWrite');
    let bytes = 0;
    for (const chunk of chunks) {
      writeFully(fd, chunk, bytes);
      bytes += chunk.length;
    }
    failpoints.pass('file.replace.beforeFsync');
    fsyncSync(fd);
    failpoints.pass('file.replace.beforeRename');
    renameSync(target + tempSuffix, target);
    syncDirectory(directory);
    return { fd, bytes };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Replaces `directory/name` with `chunks` atomically: a crash leaves either
 * the old file or the new one, never a mix (at worst a leftover temp file).
 * Returns the new file's descriptor, open for writing, and its size; close
 * it with closeLogFile.
 */
export function replaceFileAtomically(directory: string, name: string, chunks: readonly Uint8Array[]): OpenLogFile {
  return trackLogFile(replaceAndKeepOpen(directory, name, chunks));
}

/** replaceFileAtomically for a log of records (encodeRecordFile), returned open for appending with its salt. */
export function replaceLogAtomically(directory: string, name: string, file: NewRecordFile): OpenRecordLog {
  return trackLogFile({ ...replaceAndKeepOpen(directory, name, file.chunks), salt: file.salt });
}

/**
 * Opens `directory/name`, a log whose header holds `salt`, for appending
 * after its last valid record, cutting off a torn tail first. It fsyncs
 * even when nothing was cut: a process killed between an append's write and
 * its fdatasync leaves the record in the page cache, where recovery reads it
 * as valid; only once fsynced is it as durable as `bytes` says (and as a
 * backup's ack or a promise built on it needs).
 */
export function continueLogFile(
  directory: string,
  name: string,
  salt: bigint,
  validBytes: number,
  fileBytes: number,
): OpenRecordLog {
  const fd = openSync(join(directory, name), 'r+');
  try {
    if (validBytes < fileBytes) ftruncateSync(fd, validBytes);
    fsyncSync(fd);
    return trackLogFile({ fd, bytes: validBytes, salt });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

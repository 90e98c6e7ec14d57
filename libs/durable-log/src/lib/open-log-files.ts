// Which log files this process appends to, and how much of each is durable,
// so a simulated power loss (the crash-lose-unsynced failpoint action) can
// lose exactly what a real one may: the bytes written after a file's last
// fsync. An OpenLogFile's `bytes` counts only what an fsync made durable:
// continueLogFile and replaceFileAtomically fsync the file before they
// return it, and the stores advance `bytes` only after an append's
// fdatasync. So cutting each open log back to `bytes` is the power loss. (A
// real one may also keep part of what was unsynced, a torn tail, which
// recovery drops; and may undo a rename whose directory was not fsynced yet,
// which is not simulated: every rename here is followed at once by its
// directory's fsync.)
import { closeSync, ftruncateSync } from 'node:fs';
import { onPowerLoss } from '@bulwark/failpoints';

/** A log file open for appending. */
export interface OpenLogFile {
  fd: number;
  /** Bytes of the file that hold valid, durable records; the next append goes here. */
  bytes: number;
}

/** A log of records open for appending: a record appended at `bytes` is framed there with `salt`, its header's. */
export interface OpenRecordLog extends OpenLogFile {
  readonly salt: bigint;
}

/**
 * By descriptor: a number the kernel reuses only after a close, so a file
 * registered under it replaces one closed without closeLogFile.
 */
const openLogFiles = new Map<number, OpenLogFile>();

/** Counts `file` among the open logs a power loss cuts back; returns it. */
export function trackLogFile<File extends OpenLogFile>(file: File): File {
  openLogFiles.set(file.fd, file);
  return file;
}

/** Closes a log file an OpenLogFile describes, and forgets it. */
export function closeLogFile(file: OpenLogFile): void {
  if (openLogFiles.get(file.fd) === file) openLogFiles.delete(file.fd);
  closeSync(file.fd);
}

/**
 * Cuts every open log file back to its durable `bytes`: what a power loss
 * loses. The page cache keeps the cut for the next process, so the kill
 * that follows leaves the files as a power loss would. Tries every file;
 * throws the first failure.
 */
export function dropUnsyncedWrites(): void {
  const failures: unknown[] = [];
  for (const file of openLogFiles.values()) {
    try {
      ftruncateSync(file.fd, file.bytes);
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}

onPowerLoss(dropUnsyncedWrites);

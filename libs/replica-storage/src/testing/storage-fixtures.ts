// Helpers for the replica storage tests: real temp directories on disk
// (removed after each test), batches, snapshots, an io that counts or fails
// fsyncs, and gates that hold an operation until the test lets it go.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frameRecord, StorageCorruptionError } from '@bulwark/durable-log';
import { occurrence } from '@bulwark/testing';
import { parseHeader, walFileName } from '../lib/file-format';
import { FileReplicaStorage, type OpenedReplicaStorage } from '../lib/file-replica-storage';
import type {
  LogEntry,
  PersistBatch,
  RecoveredReplicaState,
  SnapshotPoint,
  StoredSnapshot,
} from '../lib/replica-types';
import { nodeIo, type StorageIo } from '../lib/storage-io';
import type { FileReplicaStorageOptions } from '../lib/storage-limits';

export const walPath = (directory: string) => join(directory, 'wal');
export const snapshotPath = (directory: string) => join(directory, 'snapshot');

/** Returns a maker of fresh temp directories, all removed after each test of the calling suite. */
export function temporaryDirectories(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const directory of made.splice(0)) rmSync(directory, { recursive: true, force: true });
  });
  return () => {
    const directory = mkdtempSync(join(tmpdir(), 'bulwark-replica-storage-'));
    made.push(directory);
    return directory;
  };
}

const text = (value: string) => new TextEncoder().encode(value);

/** An entry whose command names it. */
export function entry(sequence: bigint, epoch: bigint, command = `put k${sequence} v${sequence}@${epoch}`): LogEntry {
  return { sequence, epoch, command: text(command) };
}

/** Entries first..last, all of `epoch`. */
export function entries(first: bigint, last: bigint, epoch: bigint): LogEntry[] {
  const made: LogEntry[] = [];
  for (let sequence = first; sequence <= last; sequence++) made.push(entry(sequence, epoch));
  return made;
}

export function batch(fields: Partial<PersistBatch>): PersistBatch {
  return { entries: [], ...fields };
}

/** Batches of one entry each, first..last in `epoch`. */
export function appendsOf(first: bigint, last: bigint, epoch: bigint): PersistBatch[] {
  return entries(first, last, epoch).map((one) => batch({ entries: [one] }));
}

/** A snapshot at `lastSequence` of a log written in one epoch from sequence 1. */
export function positionIn(epoch: bigint, lastSequence: bigint): SnapshotPoint {
  return {
    lastSequence,
    lastEpoch: lastSequence === 0n ? 0n : epoch,
    epochStarts: lastSequence === 0n ? [] : [{ epoch, firstSequence: 1n }],
  };
}

/** Snapshot data of `bytes` bytes whose content depends on `seed`. */
export function snapshotData(bytes: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, index) => (index * 31 + seed * 7) & 0xff);
}

/** The data in `chunkCount` pieces, produced one at a time. */
export async function* chunksOf(data: Uint8Array, chunkCount = 3): AsyncGenerator<Uint8Array> {
  const size = Math.ceil(data.length / chunkCount) || 1;
  for (let offset = 0; offset < data.length; offset += size) {
    await Promise.resolve();
    yield data.slice(offset, offset + size);
  }
}

/** Every byte of a stored snapshot, read through its chunks. */
export async function readSnapshot(snapshot: StoredSnapshot): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of snapshot.chunks()) parts.push(chunk);
  return Buffer.concat(parts);
}

export function open(directory: string, options?: FileReplicaStorageOptions): OpenedReplicaStorage {
  return FileReplicaStorage.open(directory, options);
}

/** What a restart recovers. */
export async function recoveredState(
  directory: string,
  options?: FileReplicaStorageOptions,
): Promise<RecoveredReplicaState> {
  const { storage, recovered } = FileReplicaStorage.open(directory, options);
  await storage.close();
  return recovered;
}

/** Opens, appends every batch (awaiting each) and closes, as a member that ran and stopped. */
export async function persistAll(
  directory: string,
  batches: readonly PersistBatch[],
  options?: FileReplicaStorageOptions,
): Promise<void> {
  const { storage } = FileReplicaStorage.open(directory, options);
  for (const one of batches) await storage.appendAsync(one);
  await storage.close();
}

/** The StorageCorruptionError open throws; fails the test if open succeeds or throws anything else. */
export function openError(directory: string, options?: FileReplicaStorageOptions): StorageCorruptionError {
  let opened: OpenedReplicaStorage;
  try {
    opened = FileReplicaStorage.open(directory, options);
  } catch (error) {
    if (error instanceof StorageCorruptionError) return error;
    throw error;
  }
  void opened.storage.close();
  throw new Error('open succeeded on a damaged store');
}

export const fileBytes = (path: string) => statSync(path).size;
export const readBytes = (path: string) => new Uint8Array(readFileSync(path));
export const writeBytes = (path: string, bytes: Uint8Array) => writeFileSync(path, bytes);

/** `payload` as a record appended to the WAL `wal` (its bytes): framed with its salt, at its end. */
export function recordAppendedTo(wal: Uint8Array, payload: Uint8Array): Uint8Array {
  const { salt } = parseHeader(wal, 'wal', walFileName);
  if (salt === undefined) throw new Error('the WAL is of a version before salts');
  return frameRecord(payload, { salt, offset: wal.length });
}

/** How a promise settled, observed from the moment it is made, so a rejection is never unhandled meanwhile. */
export function outcomeOf(promise: Promise<unknown>): Promise<'resolved' | Error> {
  return promise.then(
    () => 'resolved' as const,
    (error: Error) => error,
  );
}

/** Holds an operation until the test opens it: what holds an fsync or a snapshot's chunks. */
export interface Gate {
  /** Resolves when the held operation reaches the gate. */
  readonly reached: Promise<void>;
  readonly opened: Promise<void>;
  /** Called by the held operation: marks the gate reached and waits for it to open. */
  pass(): Promise<void>;
  open(): void;
}

export function gate(): Gate {
  const opened = occurrence();
  const reached = occurrence();
  return {
    reached: reached.happened,
    opened: opened.happened,
    open: () => opened.signal(),
    pass: () => {
      reached.signal();
      return opened.happened;
    },
  };
}

/** Lets the event loop run the I/O callbacks due: a logically blocked operation still has not settled after it. */
export async function turnEventLoop(times = 20): Promise<void> {
  for (let turn = 0; turn < times; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** An io that counts fdatasyncs and can hold or fail the next ones. */
export class ScriptedIo implements StorageIo {
  fdatasyncs = 0;
  fsyncs = 0;
  /** Each fdatasync takes the next of these, if any: wait for a gate, or throw. */
  readonly fdatasyncScript: (Gate | Error)[] = [];
  readonly fsyncScript: Error[] = [];

  writeFully = (fd: number, bytes: Uint8Array, position: number) => nodeIo.writeFully(fd, bytes, position);

  fdatasync = async (fd: number) => {
    this.fdatasyncs++;
    const step = this.fdatasyncScript.shift();
    if (step instanceof Error) throw step;
    if (step) await step.pass();
    await nodeIo.fdatasync(fd);
  };

  fsync = async (fd: number) => {
    this.fsyncs++;
    const failure = this.fsyncScript.shift();
    if (failure) throw failure;
    await nodeIo.fsync(fd);
  };
}

export function ioError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${code}: i/o error, ${syscall}`), { code, syscall });
}

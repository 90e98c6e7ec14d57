// Helpers for the storage tests: real temp directories on disk (removed
// after each test), the model state MemoryStorage gives, and the raw WAL.
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frameRecord, scanLog, StorageCorruptionError, type ScannedRecord } from '@bulwark/durable-log';
import type { DurableState, PersistBatch } from '@bulwark/paxos';
import { MemoryStorage } from '@bulwark/paxos/testing';
import { FilePaxosStorage } from '../lib/file-paxos-storage';
import { parseHeader, walFileName } from '../lib/file-header';
import type { FilePaxosStorageOptions } from '../lib/storage-limits';

export const walPath = (directory: string) => join(directory, 'paxos.wal');
export const snapshotPath = (directory: string) => join(directory, 'paxos.snapshot');

/** Returns a maker of fresh temp directories, all removed after each test of the calling suite. */
export function temporaryDirectories(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const directory of made.splice(0)) rmSync(directory, { recursive: true, force: true });
  });
  return () => {
    const directory = mkdtempSync(join(tmpdir(), 'bulwark-paxos-storage-'));
    made.push(directory);
    return directory;
  };
}

export function modelState(batches: readonly PersistBatch[]): DurableState {
  const model = new MemoryStorage();
  for (const batch of batches) model.apply(batch);
  return model.recover();
}

/** Opens, appends every batch and closes, as a coordinator that ran and stopped. */
export function persistAll(
  directory: string,
  batches: readonly PersistBatch[],
  options?: FilePaxosStorageOptions,
): void {
  const { storage } = FilePaxosStorage.open(directory, options);
  for (const batch of batches) storage.append(batch);
  storage.close();
}

/** Runs batches and restarts against the disk and the model, comparing recovered state at every restart and at the end. */
export function checkAgainstModel(
  directory: string,
  steps: readonly (PersistBatch | 'restart')[],
  options: FilePaxosStorageOptions,
): void {
  const model = new MemoryStorage();
  let { storage } = FilePaxosStorage.open(directory, options);
  for (const step of steps) {
    if (step === 'restart') {
      storage.close();
      const reopened = FilePaxosStorage.open(directory, options);
      expect(reopened.state).toEqual(model.recover());
      storage = reopened.storage;
      continue;
    }
    storage.append(step);
    model.apply(step);
  }
  storage.close();
  expect(recoveredState(directory, options)).toEqual(model.recover());
}

/** The state a restart recovers. */
export function recoveredState(directory: string, options?: FilePaxosStorageOptions): DurableState {
  const { storage, state } = FilePaxosStorage.open(directory, options);
  storage.close();
  return state;
}

/** The StorageCorruptionError open throws; fails the test if open succeeds or throws anything else. */
export function openError(directory: string): StorageCorruptionError {
  try {
    FilePaxosStorage.open(directory).storage.close();
  } catch (error) {
    if (error instanceof StorageCorruptionError) return error;
    throw error;
  }
  throw new Error('open succeeded on a damaged store');
}

export function fileBytes(path: string): number {
  return statSync(path).size;
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

export function writeBytes(path: string, bytes: Uint8Array): void {
  writeFileSync(path, bytes);
}

/** The records of the WAL in `directory`, read by the rules of its header's version. */
export function walRecords(directory: string, recordBytesMax: number): ScannedRecord[] {
  const bytes = readBytes(walPath(directory));
  return scanLog(bytes, parseHeader(bytes, 'wal', walFileName), recordBytesMax, walFileName).records;
}

/** `payload` as a record appended to the WAL `wal` (its bytes): framed with its salt, at its end. */
export function recordAppendedTo(wal: Uint8Array, payload: Uint8Array): Uint8Array {
  const { salt } = parseHeader(wal, 'wal', walFileName);
  if (salt === undefined) throw new Error('the WAL is of a version before salts');
  return frameRecord(payload, { salt, offset: wal.length });
}

/** A batch with only the given fields set. */
export function batch(fields: Partial<PersistBatch>): PersistBatch {
  return { accepted: [], chosen: [], ...fields };
}

const text = (value: string) => new TextEncoder().encode(value);

/** A batch a follower persists on an accept: the promise and one accepted entry. */
export function acceptBatch(slot: bigint, round: bigint, value: string): PersistBatch {
  const ballot = { round, nodeId: 'n1' };
  return batch({ promised: ballot, accepted: [{ slot, ballot, command: text(value) }] });
}

/** A batch that learns slot chosen and moves the commit point to it. */
export function commitBatch(slot: bigint, value: string): PersistBatch {
  return batch({ chosen: [{ slot, command: text(value) }], commitSlot: slot });
}

/** Accept then commit slots 1..count: a log a snapshot can cover. */
export function logOf(count: number, round = 1n): PersistBatch[] {
  return Array.from({ length: count }, (_, index) => {
    const slot = BigInt(index + 1);
    return [acceptBatch(slot, round, `value ${slot}`), commitBatch(slot, `value ${slot}`)];
  }).flat();
}

/**
 * The two model checks a kind of batch sequence gets: recovery gives back
 * what MemoryStorage does, with the default limits and with the WAL
 * rewritten every few hundred bytes and records split small.
 */
export function itRecoversWhatTheModelDoes(
  what: string,
  steps: fc.Arbitrary<readonly (PersistBatch | 'restart')[]>,
  temporaryDirectory: () => string,
): void {
  it(`recovers what MemoryStorage gives for ${what} (150 runs)`, () => {
    fc.assert(
      fc.property(steps, (sequence) => checkAgainstModel(temporaryDirectory(), sequence, {})),
      { numRuns: 150 },
    );
  });

  it(`still does for ${what} with the WAL rewritten every few hundred bytes and records split small (100 runs)`, () => {
    fc.assert(
      fc.property(steps, (sequence) =>
        checkAgainstModel(temporaryDirectory(), sequence, { walCompactionBytes: 300, recordBytesMax: 512 }),
      ),
      { numRuns: 100 },
    );
  });
}

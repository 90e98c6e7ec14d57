// A snapshot batch replaces the snapshot file and then the WAL, each by
// atomic rename; these tests leave the files as a crash at each step would.
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { headerBytes } from '@bulwark/durable-log';
import {
  acceptBatch,
  batch,
  fileBytes,
  logOf,
  modelState,
  persistAll,
  readBytes,
  recoveredState,
  snapshotPath,
  temporaryDirectories,
  walPath,
  walRecords,
  writeBytes,
} from '../testing/storage-fixtures';
import { FilePaxosStorage } from './file-paxos-storage';

const temporaryDirectory = temporaryDirectories();

const log = logOf(20);
const snapshot = batch({ snapshot: { lastSlot: 18n, data: new TextEncoder().encode('state machine at slot 18') } });
const afterSnapshot = acceptBatch(21n, 3n, 'accepted above the snapshot');

describe('snapshot batch', () => {
  it('rewrites the WAL to hold only the state above the snapshot, and the state is unchanged', () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    for (const step of log) storage.append(step);
    const walBefore = fileBytes(walPath(directory));
    storage.append(snapshot);
    const walAfter = fileBytes(walPath(directory));
    storage.append(afterSnapshot);
    storage.close();
    expect(walAfter).toBeLessThan(walBefore / 5);
    const state = recoveredState(directory);
    expect(state).toEqual(modelState([...log, snapshot, afterSnapshot]));
    expect(state.accepted.map((entry) => entry.slot)).toEqual([19n, 20n, 21n]);
    expect(state.chosen.map((entry) => entry.slot)).toEqual([19n, 20n]);
  });

  it('splits a rewritten WAL into several records when the live state exceeds recordBytesMax', () => {
    const directory = temporaryDirectory();
    const bigLog = logOf(40).map((step) => ({
      ...step,
      accepted: step.accepted.map((entry) => ({ ...entry, command: new Uint8Array(200).fill(7) })),
    }));
    const options = { recordBytesMax: 1024 };
    persistAll(directory, [...bigLog, batch({ snapshot: { lastSlot: 5n, data: new Uint8Array([5]) } })], options);
    expect(walRecords(directory, options.recordBytesMax).length).toBeGreaterThan(5);
    expect(recoveredState(directory, options)).toEqual(
      modelState([...bigLog, batch({ snapshot: { lastSlot: 5n, data: new Uint8Array([5]) } })]),
    );
  });
});

describe('crash during a snapshot batch', () => {
  it('before the snapshot rename: the temp file is removed and the old state recovered', () => {
    const directory = temporaryDirectory();
    persistAll(directory, log);
    // What the interrupted batch had written: the next snapshot file, complete but never renamed.
    const twin = temporaryDirectory();
    persistAll(twin, [...log, snapshot]);
    copyFileSync(snapshotPath(twin), join(directory, 'paxos.snapshot.tmp'));

    const { storage, state, recovery } = FilePaxosStorage.open(directory);
    storage.close();
    expect(state).toEqual(modelState(log));
    expect(recovery).toEqual({
      tornTailBytes: 0,
      removedTempFiles: ['paxos.snapshot.tmp'],
      finishedInterruptedSnapshot: false,
    });
    expect(existsSync(join(directory, 'paxos.snapshot.tmp'))).toBe(false);
    expect(existsSync(snapshotPath(directory))).toBe(false);
  });

  it('between the snapshot rename and the WAL rename: the old WAL plus the snapshot, and the WAL rewrite is finished', () => {
    const directory = temporaryDirectory();
    persistAll(directory, log);
    const oldWal = readBytes(walPath(directory));
    // The batch also carries a commit point: never acknowledged, so it may be lost with the WAL rewrite.
    const snapshotWithCommit = { ...snapshot, commitSlot: 20n };
    persistAll(directory, [snapshotWithCommit]);
    writeBytes(walPath(directory), oldWal);
    writeBytes(join(directory, 'paxos.wal.tmp'), new Uint8Array([1, 2, 3]));

    const { storage, state, recovery } = FilePaxosStorage.open(directory);
    expect(state).toEqual(modelState([...log, snapshot]));
    expect(recovery).toEqual({
      tornTailBytes: 0,
      removedTempFiles: ['paxos.wal.tmp'],
      finishedInterruptedSnapshot: true,
    });
    expect(fileBytes(walPath(directory))).toBeLessThan(oldWal.length / 5);
    storage.append(afterSnapshot);
    storage.close();

    const reopened = FilePaxosStorage.open(directory);
    reopened.storage.close();
    expect(reopened.state).toEqual(modelState([...log, snapshot, afterSnapshot]));
    expect(reopened.recovery.finishedInterruptedSnapshot).toBe(false);
  });

  it('during a WAL rewrite of its own (compaction): the temp WAL is removed and the old one kept', () => {
    const directory = temporaryDirectory();
    persistAll(directory, log);
    const wal = readBytes(walPath(directory));
    writeBytes(join(directory, 'paxos.wal.tmp'), wal.subarray(0, headerBytes + 10));
    const { storage, state, recovery } = FilePaxosStorage.open(directory);
    storage.close();
    expect(state).toEqual(modelState(log));
    expect(recovery.removedTempFiles).toEqual(['paxos.wal.tmp']);
    expect(readBytes(walPath(directory))).toEqual(wal);
  });
});

// Round trips through the real disk against MemoryStorage as the model, the
// stated bounds, and the WAL's self-compaction.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';
import { emptyDurableState } from '@bulwark/paxos';
import { batchesWithRestarts } from '../testing/batch-arbitraries';
import {
  acceptBatch,
  batch,
  itRecoversWhatTheModelDoes,
  fileBytes,
  logOf,
  modelState,
  persistAll,
  recoveredState,
  snapshotPath,
  temporaryDirectories,
  walPath,
} from '../testing/storage-fixtures';
import { FilePaxosStorage } from './file-paxos-storage';

const temporaryDirectory = temporaryDirectories();

describe('FilePaxosStorage round trip', () => {
  it('creates a new store (and its missing parent directories) holding the empty state', () => {
    const directory = join(temporaryDirectory(), 'nested', 'store');
    const { storage, state, recovery } = FilePaxosStorage.open(directory);
    storage.close();
    expect(state).toEqual(emptyDurableState);
    expect(recovery).toEqual({ tornTailBytes: 0, removedTempFiles: [], finishedInterruptedSnapshot: false });
    expect(existsSync(walPath(directory))).toBe(true);
    expect(existsSync(snapshotPath(directory))).toBe(false);
    expect(recoveredState(directory)).toEqual(emptyDurableState);
  });

  it('recovers what MemoryStorage gives for the same batches: a hand-written log', () => {
    const directory = temporaryDirectory();
    const batches = [...logOf(5), acceptBatch(3n, 2n, 'overwritten in a higher ballot'), batch({ commitSlot: 5n })];
    persistAll(directory, batches);
    expect(recoveredState(directory)).toEqual(modelState(batches));
  });

  itRecoversWhatTheModelDoes('random batches with snapshots and restarts', batchesWithRestarts, temporaryDirectory);

  it('keeps rounds and slots beyond 2^53 exact, up to 2^64 - 1', () => {
    const directory = temporaryDirectory();
    const high = { round: (1n << 64n) - 1n, nodeId: 'n9' };
    const batches = [
      batch({ promised: high, accepted: [{ slot: (1n << 53n) + 1n, ballot: high, command: new Uint8Array([1]) }] }),
      batch({ chosen: [{ slot: (1n << 63n) + 7n, command: new Uint8Array([2]) }], commitSlot: (1n << 62n) + 3n }),
      batch({ snapshot: { lastSlot: (1n << 53n) - 1n, data: new Uint8Array([3]) } }),
    ];
    persistAll(directory, batches);
    const state = recoveredState(directory);
    expect(state).toEqual(modelState(batches));
    expect(state.promised.round).toBe(18446744073709551615n);
    expect(state.accepted[0]?.slot).toBe(9007199254740993n);
    expect(state.chosen[0]?.slot).toBe(9223372036854775815n);
  });
});

describe('FilePaxosStorage bounds', () => {
  it('refuses a batch above recordBytesMax, naming the limit, before writing anything', () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory, { recordBytesMax: 1024 });
    storage.append(acceptBatch(1n, 1n, 'fits'));
    const before = fileBytes(walPath(directory));
    const oversized = batch({ chosen: [{ slot: 2n, command: new Uint8Array(1100) }] });
    expect(() => storage.append(oversized)).toThrow(ResourceExhaustedError);
    expect(() => storage.append(oversized)).toThrow(/recordBytesMax.*above the limit of 1024/);
    expect(fileBytes(walPath(directory))).toBe(before);
    storage.append(acceptBatch(2n, 1n, 'still usable'));
    storage.close();
    expect(recoveredState(directory)).toEqual(
      modelState([acceptBatch(1n, 1n, 'fits'), acceptBatch(2n, 1n, 'still usable')]),
    );
  });

  it('refuses a snapshot above snapshotBytesMax, naming the limit, and keeps the old state', () => {
    const directory = temporaryDirectory();
    const log = logOf(3);
    const { storage } = FilePaxosStorage.open(directory, { snapshotBytesMax: 100 });
    for (const step of log) storage.append(step);
    const oversized = batch({ snapshot: { lastSlot: 3n, data: new Uint8Array(101) } });
    expect(() => storage.append(oversized)).toThrow(/snapshotBytesMax.*above the limit of 100/);
    storage.append(batch({ snapshot: { lastSlot: 3n, data: new Uint8Array(100) } }));
    storage.close();
    expect(recoveredState(directory, { snapshotBytesMax: 100 })).toEqual(
      modelState([...log, batch({ snapshot: { lastSlot: 3n, data: new Uint8Array(100) } })]),
    );
  });

  it('refuses slots and rounds outside uint64 before writing anything', () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    const before = fileBytes(walPath(directory));
    expect(() => storage.append(acceptBatch(-1n, 1n, 'negative slot'))).toThrow(InvalidArgumentError);
    expect(() => storage.append(acceptBatch(1n, 1n << 64n, 'round too large'))).toThrow(/0\.\.2\^64-1/);
    expect(fileBytes(walPath(directory))).toBe(before);
    storage.close();
  });

  it('rejects limits that are not integers from 1 to 1 GiB', () => {
    const directory = temporaryDirectory();
    expect(() => FilePaxosStorage.open(directory, { recordBytesMax: 0 })).toThrow(/options.recordBytesMax/);
    expect(() => FilePaxosStorage.open(directory, { snapshotBytesMax: 2 ** 31 })).toThrow(InvalidArgumentError);
    expect(() => FilePaxosStorage.open(directory, { walCompactionBytes: 1.5 })).toThrow(InvalidArgumentError);
  });

  it('refuses to append once closed', () => {
    const { storage } = FilePaxosStorage.open(temporaryDirectory());
    storage.close();
    expect(() => storage.append(acceptBatch(1n, 1n, 'late'))).toThrow(FailedPreconditionError);
  });

  it('refuses every append after a failed write, until a reopen recovers what reached the disk', () => {
    const directory = temporaryDirectory();
    const log = logOf(2);
    const { storage } = FilePaxosStorage.open(directory);
    for (const step of log) storage.append(step);
    // A directory where the snapshot's temp file must go makes its creation fail (EISDIR), without mocking fs.
    mkdirSync(join(directory, 'paxos.snapshot.tmp'));
    expect(() => storage.append(batch({ snapshot: { lastSlot: 2n, data: new Uint8Array([2]) } }))).toThrow(/EISDIR/);
    expect(() => storage.append(acceptBatch(3n, 1n, 'after the failure'))).toThrow(
      /an earlier write failed \(EISDIR.*reopen to recover/,
    );
    storage.close();
    rmdirSync(join(directory, 'paxos.snapshot.tmp'));
    expect(recoveredState(directory)).toEqual(modelState(log));
  });

  it('keeps the WAL bounded when only promises are persisted (elections without commits, so no snapshots)', () => {
    const directory = temporaryDirectory();
    const walCompactionBytes = 4096;
    const promises = Array.from({ length: 2000 }, (_, index) =>
      batch({ promised: { round: BigInt(index), nodeId: 'n2' } }),
    );
    const { storage } = FilePaxosStorage.open(directory, { walCompactionBytes });
    let largest = 0;
    for (const promise of promises) {
      storage.append(promise);
      largest = Math.max(largest, fileBytes(walPath(directory)));
    }
    storage.close();
    // 2000 records of about 16 bytes would be 32 KB; rewrites keep it at the threshold.
    expect(largest).toBeLessThan(walCompactionBytes);
    expect(recoveredState(directory, { walCompactionBytes })).toEqual(modelState(promises));
  });
});

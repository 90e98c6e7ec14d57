// A crash during an append leaves its record cut short; that append was
// never acknowledged, so recovery drops it (and says so), keeps everything
// before it, and appends after it again. Damage anywhere else refuses to
// start, naming the file and offset: the record framing and these rules are
// @bulwark/durable-log's, so these tests check they hold for this WAL too.
import { copyFileSync, rmSync } from 'node:fs';
import { crc32c, recordHeaderBytes, StorageCorruptionError } from '@bulwark/durable-log';
import { frameUnsaltedRecord } from '@bulwark/durable-log/testing';
import { MemoryReplicaStorage } from '../testing/memory-replica-storage';
import {
  appendsOf,
  batch,
  entry,
  fileBytes,
  open,
  openError,
  persistAll,
  readBytes,
  recordAppendedTo,
  recoveredState,
  temporaryDirectories,
  walPath,
  writeBytes,
} from '../testing/storage-fixtures';
import type { PersistBatch, RecoveredReplicaState } from './replica-types';

const temporaryDirectory = temporaryDirectories();

const acknowledged = [
  batch({ entries: [entry(1n, 1n), entry(2n, 1n)], highestEpoch: 1n, ledEpoch: 1n }),
  ...appendsOf(3n, 5n, 1n),
];
/** The last write: three batches group-committed as one record. */
const lastGroup = [
  batch({ truncateAfter: 4n, entries: [entry(5n, 2n, 'rewritten in epoch 2')], highestEpoch: 2n }),
  ...appendsOf(6n, 7n, 2n),
];
const afterRestart = batch({ entries: [entry(5n, 3n, 'written after recovery')], truncateAfter: 4n, highestEpoch: 3n });

async function modelOf(batches: readonly PersistBatch[]): Promise<RecoveredReplicaState> {
  const model = new MemoryReplicaStorage();
  for (const one of batches) await model.appendAsync(one);
  return model.recover();
}

/** A WAL holding `acknowledged` and then `lastGroup` in one record, where the records start, and the directory. */
async function walWithLastGroup(): Promise<{ bytes: Uint8Array; recordStarts: number[] }> {
  const directory = temporaryDirectory();
  const recordStarts: number[] = [];
  const { storage } = open(directory);
  for (const one of acknowledged) {
    recordStarts.push(storage.walBytes);
    await storage.appendAsync(one);
  }
  recordStarts.push(storage.walBytes);
  await Promise.all(lastGroup.map((one) => storage.appendAsync(one)));
  await storage.close();
  return { bytes: readBytes(walPath(directory)), recordStarts };
}

describe('torn last record', () => {
  it('is dropped at every byte offset the file can end at inside it, reported, and appending afterwards survives a restart', async () => {
    const { bytes, recordStarts } = await walWithLastGroup();
    const lastStart = recordStarts.at(-1) as number;
    expect(bytes.length - lastStart).toBeGreaterThan(60);
    const expected = await modelOf(acknowledged);
    const expectedAfter = await modelOf([...acknowledged, afterRestart]);
    const directory = temporaryDirectory();
    for (let end = lastStart; end < bytes.length; end++) {
      writeBytes(walPath(directory), bytes.subarray(0, end));
      const { storage, recovered, report } = open(directory);
      expect(recovered).toEqual(expected);
      expect(report.tornTailBytes).toBe(end - lastStart);
      expect(fileBytes(walPath(directory))).toBe(lastStart);
      await storage.appendAsync(afterRestart);
      await storage.close();
      expect(await recoveredState(directory)).toEqual(expectedAfter);
    }
  });

  it("is dropped when cut right after a frame inside a client's value: a frame validates only where its file's writer put it", async () => {
    // A value holding bytes that frame a record by the checksum every record had before salts, and a crash
    // (at a page boundary, say) that cuts the append right after them: the cut-off record is torn all the same.
    const frameInValue = frameUnsaltedRecord(new TextEncoder().encode('a record, to the torn-tail search'));
    const value = new Uint8Array([...new TextEncoder().encode('before '), ...frameInValue, 0x20, 0x2e]);
    const directory = temporaryDirectory();
    await persistAll(directory, acknowledged);
    const lastStart = fileBytes(walPath(directory));
    await persistAll(directory, [batch({ entries: [{ sequence: 6n, epoch: 1n, command: value }] })]);
    const bytes = readBytes(walPath(directory));
    const cut = Buffer.from(bytes).indexOf(frameInValue, lastStart) + frameInValue.length;
    writeBytes(walPath(directory), bytes.subarray(0, cut));
    const { storage, recovered, report } = open(directory);
    await storage.close();
    expect(recovered).toEqual(await modelOf(acknowledged));
    expect(report.tornTailBytes).toBe(cut - lastStart);
    expect(fileBytes(walPath(directory))).toBe(lastStart);
  });

  it('keeps all of a group commit or none of it', async () => {
    const { bytes } = await walWithLastGroup();
    const directory = temporaryDirectory();
    writeBytes(walPath(directory), bytes);
    expect(await recoveredState(directory)).toEqual(await modelOf([...acknowledged, ...lastGroup]));
    writeBytes(walPath(directory), bytes.subarray(0, bytes.length - 1));
    expect(await recoveredState(directory)).toEqual(await modelOf(acknowledged));
  });

  it('is dropped when only zero bytes follow the last record (the file grew, its data never landed)', async () => {
    const { bytes, recordStarts } = await walWithLastGroup();
    const directory = temporaryDirectory();
    const lastStart = recordStarts.at(-1) as number;
    const zeroed = bytes.slice();
    zeroed.fill(0, lastStart);
    writeBytes(walPath(directory), zeroed);
    const { storage, recovered, report } = open(directory);
    await storage.close();
    expect(recovered).toEqual(await modelOf(acknowledged));
    expect(report.tornTailBytes).toBe(bytes.length - lastStart);
  });
});

describe('corruption', () => {
  it('refuses a flipped bit anywhere in a middle record, naming the WAL and the record, and leaves the file as it was', async () => {
    const { bytes, recordStarts } = await walWithLastGroup();
    const directory = temporaryDirectory();
    const [start, end] = [recordStarts[2] as number, recordStarts[3] as number];
    for (let offset = start; offset < end; offset++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = bytes.slice();
        damaged[offset] = (damaged[offset] as number) ^ (1 << bit);
        writeBytes(walPath(directory), damaged);
        const error = openError(directory);
        expect({ file: error.file, offset: error.offset }).toEqual({ file: 'wal', offset: start });
        expect(error.message).toMatch(new RegExp(`^wal at byte ${start}: .*refusing to start`));
        expect(readBytes(walPath(directory))).toEqual(damaged);
      }
    }
  });

  it('refuses a complete last record failing its checksum: it may have been acknowledged', async () => {
    const { bytes, recordStarts } = await walWithLastGroup();
    const directory = temporaryDirectory();
    const damaged = bytes.slice();
    damaged[bytes.length - 1] = (damaged[bytes.length - 1] as number) ^ 1;
    writeBytes(walPath(directory), damaged);
    const error = openError(directory);
    expect(error.offset).toBe(recordStarts.at(-1));
    expect(error.problem).toMatch(/checksum mismatch in the last record, which is complete/);
  });

  it('refuses a record whose checksum holds but whose entry does not follow the log', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    const appendStart = storage.walBytes;
    await storage.appendAsync(batch({ entries: [entry(1n, 1n)] }));
    await storage.close();
    const bytes = readBytes(walPath(directory));
    // The append's payload twice, each framed where it is: entry 1 again where 2 must come, its checksum valid.
    const payload = bytes.subarray(appendStart + recordHeaderBytes);
    writeBytes(walPath(directory), new Uint8Array([...bytes, ...recordAppendedTo(bytes, payload)]));
    const error = openError(directory);
    expect(error).toBeInstanceOf(StorageCorruptionError);
    expect(error.offset).toBe(bytes.length);
    expect(error.problem).toMatch(/record does not follow the log before it: .*is 1, but the log continues at 2/);
  });

  it('refuses an unknown format version, naming the file, and a header that is not a replica WAL', async () => {
    const directory = temporaryDirectory();
    await persistAll(directory, appendsOf(1n, 2n, 1n));
    const bytes = readBytes(walPath(directory));
    const newer = bytes.slice();
    const view = new DataView(newer.buffer);
    view.setUint32(4, 3, true);
    view.setUint32(16, crc32c(newer.subarray(0, 16)), true);
    writeBytes(walPath(directory), newer);
    expect(openError(directory).message).toMatch(
      /^wal at byte 4: format version 3 is not supported \(this build reads 1 to 2\)/,
    );
    const paxosWal = bytes.slice();
    paxosWal.set(new TextEncoder().encode('PXWL'), 0);
    writeBytes(walPath(directory), paxosWal);
    expect(openError(directory).message).toMatch(/^wal at byte 0: magic is 0x5058574c, not "RPWL"/);
  });

  it('refuses a WAL beside a snapshot of another generation, and a missing WAL beside a snapshot', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    await storage.appendAsync(batch({ entries: [entry(1n, 1n)] }));
    const oldWal = temporaryDirectory();
    copyFileSync(walPath(directory), walPath(oldWal));
    await storage.saveSnapshot(
      { lastSequence: 1n, lastEpoch: 1n, epochStarts: [{ epoch: 1n, firstSequence: 1n }] },
      [],
      {
        keepEntriesFrom: 'none',
      },
    );
    await storage.saveSnapshot(
      { lastSequence: 1n, lastEpoch: 1n, epochStarts: [{ epoch: 1n, firstSequence: 1n }] },
      [],
      {
        keepEntriesFrom: 'none',
      },
    );
    await storage.close();
    copyFileSync(walPath(oldWal), walPath(directory));
    expect(openError(directory).message).toMatch(
      /^wal at byte 8: generation 0 does not continue snapshot generation 2/,
    );
    rmSync(walPath(directory));
    expect(openError(directory).message).toMatch(/^wal at byte 0: missing while snapshot exists/);
  });
});

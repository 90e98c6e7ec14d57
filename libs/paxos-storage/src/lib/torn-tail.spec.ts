// A crash during an append leaves its record cut short, or only zero bytes
// where the file grew; that append was never acknowledged, so recovery drops
// it, keeps everything before it, and appends after it again. A complete
// last record failing its checksum is not torn: it may have been
// acknowledged, so open refuses it, naming its offset.
import { appendFileSync } from 'node:fs';
import { frameUnsaltedRecord } from '@bulwark/durable-log/testing';
import type { PersistBatch } from '@bulwark/paxos';
import {
  acceptBatch,
  batch,
  commitBatch,
  fileBytes,
  logOf,
  modelState,
  openError,
  persistAll,
  readBytes,
  recoveredState,
  temporaryDirectories,
  walPath,
  writeBytes,
} from '../testing/storage-fixtures';
import { FilePaxosStorage } from './file-paxos-storage';

const temporaryDirectory = temporaryDirectories();

const acknowledged = logOf(3);
const lastAppend = acceptBatch(4n, 2n, 'the append the crash cut short');
const afterRestart = commitBatch(4n, 'written after recovery');

/** A WAL holding `acknowledged` and then `last`, and where that last record starts. */
function walWithLastRecord(last: PersistBatch = lastAppend): { bytes: Uint8Array; lastRecordStart: number } {
  const directory = temporaryDirectory();
  persistAll(directory, acknowledged);
  const lastRecordStart = fileBytes(walPath(directory));
  persistAll(directory, [last]);
  return { bytes: readBytes(walPath(directory)), lastRecordStart };
}

/** Reopens a store whose WAL is `bytes`, checks it holds `acknowledged`, appends, and checks again after a restart. */
function expectRecoversAcknowledged(bytes: Uint8Array, tornTailBytes: number): void {
  const directory = temporaryDirectory();
  persistAll(directory, []);
  writeBytes(walPath(directory), bytes);
  const { storage, state, recovery } = FilePaxosStorage.open(directory);
  expect(state).toEqual(modelState(acknowledged));
  expect(recovery.tornTailBytes).toBe(tornTailBytes);
  storage.append(afterRestart);
  storage.close();
  expect(recoveredState(directory)).toEqual(modelState([...acknowledged, afterRestart]));
}

describe('torn last record', () => {
  it('is dropped at every byte offset the file can end at inside it, and appending afterwards survives a restart', () => {
    const { bytes, lastRecordStart } = walWithLastRecord();
    expect(bytes.length - lastRecordStart).toBeGreaterThan(30);
    for (let end = lastRecordStart; end < bytes.length; end++) {
      expectRecoversAcknowledged(bytes.subarray(0, end), end - lastRecordStart);
    }
  });

  it("is dropped when cut right after a frame inside a command: a frame validates only where its file's writer put it", () => {
    // A command holding bytes that frame a record by the checksum every record had before salts, and a crash
    // (at a page boundary, say) that cuts the append right after them: the cut-off record is torn all the same.
    const text = (value: string) => new TextEncoder().encode(value);
    const frameInCommand = frameUnsaltedRecord(text('a record, to the torn-tail search'));
    const command = new Uint8Array([...text('before '), ...frameInCommand, 0x20, 0x2e]);
    const ballot = { round: 2n, nodeId: 'n1' };
    const { bytes, lastRecordStart } = walWithLastRecord(
      batch({ promised: ballot, accepted: [{ slot: 4n, ballot, command }] }),
    );
    const cut = Buffer.from(bytes).indexOf(frameInCommand, lastRecordStart) + frameInCommand.length;
    expectRecoversAcknowledged(bytes.subarray(0, cut), cut - lastRecordStart);
  });

  it('is refused, naming its offset, when complete but any one bit of it is flipped (length, checksum or payload)', () => {
    const { bytes, lastRecordStart } = walWithLastRecord();
    const directory = temporaryDirectory();
    persistAll(directory, []);
    const problems = new Set<string>();
    for (let offset = lastRecordStart; offset < bytes.length; offset++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = bytes.slice();
        damaged[offset] = (damaged[offset] as number) ^ (1 << bit);
        writeBytes(walPath(directory), damaged);
        const error = openError(directory);
        expect({ file: error.file, offset: error.offset }).toEqual({ file: 'paxos.wal', offset: lastRecordStart });
        expect(readBytes(walPath(directory))).toEqual(damaged);
        problems.add(error.problem.replace(/\d+/g, 'N'));
      }
    }
    // A shorter length leaves bytes after the record; a longer one looks cut off, but the checksum holds as it was.
    expect([...problems].sort()).toEqual([
      'record checksum mismatch in the last record, which is complete (N-byte payload): damage to an acknowledged append, not a torn one',
      'record checksum mismatch with N more bytes after it, so not a torn last write',
      'record length N is above the limit of N',
      "the file ends N bytes into a N-byte payload, yet the record's checksum holds for the N bytes there: a damaged length field, not a torn last write",
    ]);
  });

  it('is refused when complete in length but zero from some byte on: a torn append and a damaged one look the same', () => {
    const { bytes, lastRecordStart } = walWithLastRecord();
    const directory = temporaryDirectory();
    persistAll(directory, []);
    for (const zeroFrom of [lastRecordStart + 8, lastRecordStart + 20, bytes.length - 1]) {
      const partlyWritten = bytes.slice();
      partlyWritten.fill(0, zeroFrom);
      writeBytes(walPath(directory), partlyWritten);
      const error = openError(directory);
      expect({ offset: error.offset, problem: error.problem }).toEqual({
        offset: lastRecordStart,
        problem: expect.stringMatching(/^record checksum mismatch in the last record, which is complete/),
      });
    }
  });

  it('is dropped when the crash left the file extended with zeros instead of the record', () => {
    const { bytes, lastRecordStart } = walWithLastRecord();
    const zeroed = bytes.slice();
    zeroed.fill(0, lastRecordStart);
    const zeroTail = new Uint8Array(lastRecordStart + 4096);
    zeroTail.set(zeroed.subarray(0, lastRecordStart));
    expectRecoversAcknowledged(zeroed, bytes.length - lastRecordStart);
    expectRecoversAcknowledged(zeroTail, 4096);
  });

  it('is dropped when only zero bytes of any length follow the last good record (an unwritten or preallocated tail)', () => {
    const { lastRecordStart, bytes } = walWithLastRecord();
    const acknowledgedBytes = bytes.subarray(0, lastRecordStart);
    for (const zeroBytes of [1, 4, 7, 8, 9, 63, 65_536]) {
      const withZeroTail = new Uint8Array(lastRecordStart + zeroBytes);
      withZeroTail.set(acknowledgedBytes);
      expectRecoversAcknowledged(withZeroTail, zeroBytes);
    }
  });

  it('is cut off the file on open, so the next append follows the last good record', () => {
    const directory = temporaryDirectory();
    persistAll(directory, acknowledged);
    const good = fileBytes(walPath(directory));
    appendFileSync(walPath(directory), new Uint8Array([7, 0, 0, 0, 1, 2]));
    FilePaxosStorage.open(directory).storage.close();
    expect(fileBytes(walPath(directory))).toBe(good);
  });
});

// A crash during an append leaves its record cut short, or written but for
// some blocks; that append was never acknowledged, so recovery drops it, keeps
// everything before it, and appends after it again.
import { appendFileSync } from 'node:fs';
import {
  acceptBatch,
  commitBatch,
  fileBytes,
  logOf,
  modelState,
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

/** A WAL holding `acknowledged` and then `lastAppend`, and where that last record starts. */
function walWithLastRecord(): { bytes: Uint8Array; lastRecordStart: number } {
  const directory = temporaryDirectory();
  persistAll(directory, acknowledged);
  const lastRecordStart = fileBytes(walPath(directory));
  persistAll(directory, [lastAppend]);
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

  it('is dropped when complete in length but failing its checksum, with nothing after it', () => {
    const { bytes, lastRecordStart } = walWithLastRecord();
    for (const offset of [lastRecordStart + 4, lastRecordStart + 12, bytes.length - 1]) {
      const damaged = bytes.slice();
      damaged[offset] = (damaged[offset] as number) ^ 0x40;
      expectRecoversAcknowledged(damaged, bytes.length - lastRecordStart);
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

  it('is cut off the file on open, so the next append follows the last good record', () => {
    const directory = temporaryDirectory();
    persistAll(directory, acknowledged);
    const good = fileBytes(walPath(directory));
    appendFileSync(walPath(directory), new Uint8Array([7, 0, 0, 0, 1, 2]));
    FilePaxosStorage.open(directory).storage.close();
    expect(fileBytes(walPath(directory))).toBe(good);
  });
});

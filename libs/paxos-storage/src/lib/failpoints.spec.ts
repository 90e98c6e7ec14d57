// The coordinator store's failpoints on real files: an injected disk error
// fails the append with Node's code and poisons the store like a real one;
// a simulated power loss keeps exactly the appends whose fdatasync completed.
import { dropUnsyncedWrites } from '@bulwark/durable-log';
import { FailedPreconditionError } from '@bulwark/errors';
import { failpoints, parseFailpointSetting } from '@bulwark/failpoints';
import {
  acceptBatch,
  fileBytes,
  modelState,
  recoveredState,
  temporaryDirectories,
  walPath,
} from '../testing/storage-fixtures';
import { FilePaxosStorage } from './file-paxos-storage';

const temporaryDirectory = temporaryDirectories();
const first = acceptBatch(1n, 1n, 'first');
const second = acceptBatch(2n, 1n, 'second');

function setFailpoint(name: string, term: string): void {
  failpoints.set(parseFailpointSetting('coordinator', name, term));
}
afterEach(() => {
  for (const { name } of failpoints.list()) failpoints.set({ name, spec: undefined });
});

function thrownBy(call: () => void): NodeJS.ErrnoException | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

describe('failpoints in FilePaxosStorage', () => {
  it('rejects appendAsync with EIO at paxos.wal.beforeFsync, cuts its record off and refuses every append after it', async () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    await storage.appendAsync(first);
    const walBytes = fileBytes(walPath(directory));
    setFailpoint('paxos.wal.beforeFsync', 'error(EIO)');
    await expect(storage.appendAsync(second)).rejects.toMatchObject({ code: 'EIO', syscall: 'fdatasync' });
    // Written but not synced, and never answered: left in the page cache, a restart would count it durable.
    expect(fileBytes(walPath(directory))).toBe(walBytes);
    await expect(storage.appendAsync(acceptBatch(3n, 1n, 'third'))).rejects.toThrow(FailedPreconditionError);
    storage.close();
    expect(recoveredState(directory)).toEqual(modelState([first]));
  });

  it('cuts off the record of an append whose fdatasync fails, on the synchronous path too', () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    storage.append(first);
    setFailpoint('paxos.wal.beforeFsync', '1*error(EIO)');
    expect(thrownBy(() => storage.append(second))).toMatchObject({ code: 'EIO', syscall: 'fdatasync' });
    storage.close();
    expect(recoveredState(directory)).toEqual(modelState([first]));
  });

  it('throws ENOSPC from append at paxos.wal.beforeWrite, writing nothing', () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    storage.append(first);
    const walBytes = fileBytes(walPath(directory));
    setFailpoint('paxos.wal.beforeWrite', '1*error(ENOSPC)');
    expect(thrownBy(() => storage.append(second))).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    expect(fileBytes(walPath(directory))).toBe(walBytes);
    storage.close();
    expect(recoveredState(directory)).toEqual(modelState([first]));
  });

  it('keeps, after a simulated power loss at paxos.wal.beforeFsync, only the appends already durable', async () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    await storage.appendAsync(first);
    const durableBytes = fileBytes(walPath(directory));
    // Stall the second append between its write and its fdatasync, as the point would before a crash.
    setFailpoint('paxos.wal.beforeFsync', '1*sleep(200)');
    const pending = storage.appendAsync(second);
    while (fileBytes(walPath(directory)) === durableBytes) await new Promise((resolve) => setTimeout(resolve, 5));
    dropUnsyncedWrites();
    expect(fileBytes(walPath(directory))).toBe(durableBytes);
    expect(recoveredState(directory)).toEqual(modelState([first]));
    await pending;
    storage.close();
  });
});

// The store's failpoints on real files: an injected disk error fails the
// call with Node's code and poisons the store like a real one, and a
// simulated power loss (what crash-lose-unsynced runs before it kills the
// process) keeps exactly the appends whose fdatasync completed.
import { dropUnsyncedWrites } from '@bulwark/durable-log';
import { FailedPreconditionError } from '@bulwark/errors';
import { failpoints, parseFailpointSetting } from '@bulwark/failpoints';
import { MemoryReplicaStorage } from '../testing/memory-replica-storage';
import {
  appendsOf,
  fileBytes,
  gate,
  open,
  outcomeOf,
  positionIn,
  recoveredState,
  ScriptedIo,
  snapshotData,
  temporaryDirectories,
  walPath,
} from '../testing/storage-fixtures';
import type { PersistBatch } from './replica-types';

const temporaryDirectory = temporaryDirectories();
const [first, second, third] = appendsOf(1n, 3n, 1n) as [PersistBatch, PersistBatch, PersistBatch];

function setFailpoint(name: string, term: string): void {
  failpoints.set(parseFailpointSetting('replica', name, term));
}
afterEach(() => {
  for (const { name } of failpoints.list()) failpoints.set({ name, spec: undefined });
});

async function modelOf(batches: readonly PersistBatch[]) {
  const model = new MemoryReplicaStorage();
  for (const one of batches) await model.appendAsync(one);
  return model.recover();
}

describe('failpoints in FileReplicaStorage', () => {
  it('fails an append with EIO at replica.wal.beforeWrite, writing nothing, and refuses every call after it', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    await storage.appendAsync(first);
    const walBytes = fileBytes(walPath(directory));
    setFailpoint('replica.wal.beforeWrite', 'error(EIO)');
    const failed = await outcomeOf(storage.appendAsync(second));
    expect(failed).toMatchObject({ code: 'EIO', syscall: 'write' });
    expect(fileBytes(walPath(directory))).toBe(walBytes);
    const refused = storage.appendAsync(third);
    await expect(refused).rejects.toThrow(FailedPreconditionError);
    await expect(refused).rejects.toThrow(/an earlier write failed \(EIO: i\/o error, write/);
    await storage.close();
    expect(await recoveredState(directory)).toEqual(await modelOf([first]));
  });

  it('fails the fdatasync with ENOSPC at replica.wal.beforeFsync, once, the written record cut off', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    await storage.appendAsync(first);
    const walBytes = fileBytes(walPath(directory));
    setFailpoint('replica.wal.beforeFsync', '1*error(ENOSPC)');
    expect(await outcomeOf(storage.appendAsync(second))).toMatchObject({ code: 'ENOSPC', syscall: 'fdatasync' });
    // Never acknowledged: left in the page cache, a restart would read it back and count it durable.
    expect(fileBytes(walPath(directory))).toBe(walBytes);
    await storage.close();
    expect(await recoveredState(directory)).toEqual(await modelOf([first]));
    expect(failpoints.list(['replica.wal.beforeFsync'])[0]).toMatchObject({ action: 'off', fired: 1 });
  });

  it('keeps, after a simulated power loss, exactly the appends whose fdatasync completed', async () => {
    const directory = temporaryDirectory();
    const io = new ScriptedIo();
    const { storage } = open(directory, { io });
    await storage.appendAsync(first);
    const durableBytes = fileBytes(walPath(directory));
    const held = gate();
    io.fdatasyncScript.push(held);
    const pending = outcomeOf(storage.appendAsync(second));
    await held.reached; // written, its fdatasync not done
    expect(fileBytes(walPath(directory))).toBeGreaterThan(durableBytes);
    dropUnsyncedWrites();
    expect(fileBytes(walPath(directory))).toBe(durableBytes);
    expect(await recoveredState(directory)).toEqual(await modelOf([first]));
    held.open();
    expect(await pending).toBe('resolved');
    await storage.close();
  });

  it('fails a snapshot with EIO at replica.snapshot.beforeFsync: the old state stays, the temp file goes at reopen', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    for (const one of appendsOf(1n, 10n, 1n)) await storage.appendAsync(one);
    setFailpoint('replica.snapshot.beforeFsync', 'error(EIO)');
    const failed = await outcomeOf(
      storage.saveSnapshot(positionIn(1n, 8n), [snapshotData(5000, 8)], { keepEntriesFrom: 'none' }),
    );
    expect(failed).toMatchObject({ code: 'EIO', syscall: 'fsync' });
    await storage.close();
    const reopened = open(directory);
    await reopened.storage.close();
    expect(reopened.report.removedTempFiles).toEqual(['snapshot.tmp']);
    expect(reopened.recovered).toEqual(await modelOf(appendsOf(1n, 10n, 1n)));
  });
});

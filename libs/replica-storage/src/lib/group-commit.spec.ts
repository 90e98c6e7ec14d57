// appendAsync resolves once a batch is durable. Appends that queue while a
// write + fdatasync is in flight are written together, one record and one
// fdatasync, and resolve in call order; the queue is bounded; and a failed
// fdatasync poisons the store until a reopen reads what is on disk.
import { FailedPreconditionError, ResourceExhaustedError } from '@bulwark/errors';
import { MemoryReplicaStorage } from '../testing/memory-replica-storage';
import {
  appendsOf,
  batch,
  entry,
  gate,
  ioError,
  open,
  outcomeOf,
  recoveredState,
  ScriptedIo,
  temporaryDirectories,
  turnEventLoop,
} from '../testing/storage-fixtures';
import type { PersistBatch, RecoveredReplicaState } from './replica-types';
import type { WalSync } from './storage-limits';

const temporaryDirectory = temporaryDirectories();

async function modelOf(batches: readonly PersistBatch[]): Promise<RecoveredReplicaState> {
  const model = new MemoryReplicaStorage();
  for (const one of batches) await model.appendAsync(one);
  return model.recover();
}

describe('group commit', () => {
  it('makes N appends issued together durable with fewer than N fdatasyncs, resolving in call order', async () => {
    const directory = temporaryDirectory();
    const io = new ScriptedIo();
    const { storage } = open(directory, { io });
    const batches = appendsOf(1n, 32n, 1n);
    const resolved: number[] = [];
    const appends = batches.map((one, index) => storage.appendAsync(one).then(() => resolved.push(index)));
    await Promise.all(appends);
    expect(io.fdatasyncs).toBeGreaterThanOrEqual(1);
    expect(io.fdatasyncs).toBeLessThan(batches.length);
    expect(resolved).toEqual(batches.map((_, index) => index));
    await storage.close();
    expect(await recoveredState(directory)).toEqual(await modelOf(batches));
  });

  it('gathers the appends made while a write is in flight into the next one', async () => {
    const directory = temporaryDirectory();
    const io = new ScriptedIo();
    const held = gate();
    io.fdatasyncScript.push(held);
    const { storage } = open(directory, { io });
    const first = outcomeOf(storage.appendAsync(batch({ entries: [entry(1n, 1n)] })));
    await held.reached;
    expect(io.fdatasyncs).toBe(1);
    const resolved: number[] = [];
    const later = appendsOf(2n, 11n, 1n).map((one, index) => storage.appendAsync(one).then(() => resolved.push(index)));
    await turnEventLoop();
    // Held behind the first write: not written, not resolved.
    expect(io.fdatasyncs).toBe(1);
    expect(resolved).toEqual([]);
    held.open();
    expect(await first).toBe('resolved');
    await Promise.all(later);
    expect(io.fdatasyncs).toBe(2);
    expect(resolved).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await storage.close();
    expect(await recoveredState(directory)).toEqual(await modelOf(appendsOf(1n, 11n, 1n)));
  });

  it('tells onWalSync of each group commit: the entries one fdatasync made durable, and its time', async () => {
    const directory = temporaryDirectory();
    const io = new ScriptedIo();
    const held = gate();
    io.fdatasyncScript.push(held);
    const syncs: WalSync[] = [];
    const { storage } = open(directory, { io, onWalSync: (sync) => syncs.push(sync) });
    const first = storage.appendAsync(batch({ entries: [entry(1n, 1n)] }));
    await held.reached;
    const later = appendsOf(2n, 11n, 1n).map((one) => storage.appendAsync(one));
    held.open();
    await Promise.all([first, ...later]);
    expect(syncs.map((sync) => sync.entries)).toEqual([1, 10]);
    for (const sync of syncs) expect(sync.seconds).toBeGreaterThanOrEqual(0);
    // An epoch raised alone is a group commit of no entries; a failed fdatasync is not one at all.
    await storage.appendAsync(batch({ entries: [], highestEpoch: 2n }));
    expect(syncs.map((sync) => sync.entries)).toEqual([1, 10, 0]);
    io.fdatasyncScript.push(ioError('EIO', 'fdatasync'));
    await expect(storage.appendAsync(batch({ entries: [entry(12n, 2n)] }))).rejects.toThrow('EIO');
    expect(syncs).toHaveLength(3);
    await storage.close();
  });

  it('splits a group at recordBytesMax, still in call order', async () => {
    const directory = temporaryDirectory();
    const io = new ScriptedIo();
    const options = { io, recordBytesMax: 200 };
    const { storage } = open(directory, options);
    const batches = appendsOf(1n, 20n, 1n);
    await Promise.all(batches.map((one) => storage.appendAsync(one)));
    expect(io.fdatasyncs).toBeGreaterThan(1);
    expect(io.fdatasyncs).toBeLessThan(batches.length);
    await storage.close();
    expect(await recoveredState(directory, options)).toEqual(await modelOf(batches));
  });

  it('rejects a call beyond pendingAppendsMax or pendingBytesMax at once, without queuing it', async () => {
    const directory = temporaryDirectory();
    const io = new ScriptedIo();
    const held = gate();
    io.fdatasyncScript.push(held);
    const { storage } = open(directory, { io, pendingAppendsMax: 3, pendingBytesMax: 200 });
    const queued = appendsOf(1n, 3n, 1n).map((one) => storage.appendAsync(one));
    const refused = storage.appendAsync(batch({ entries: [entry(4n, 1n)] }));
    await expect(refused).rejects.toThrow(ResourceExhaustedError);
    await expect(refused).rejects.toThrow(/^pendingAppendsMax: 3 calls are pending, the limit/);
    held.open();
    await Promise.all(queued);
    const big = batch({ entries: [{ sequence: 4n, epoch: 1n, command: new Uint8Array(190) }] });
    const overBytes = storage.appendAsync(big);
    await expect(overBytes).rejects.toThrow(/^pendingBytesMax: /);
    await storage.appendAsync(batch({ entries: [entry(4n, 1n)] }));
    await storage.close();
    expect(await recoveredState(directory)).toEqual(await modelOf(appendsOf(1n, 4n, 1n)));
  });

  it('refuses an append that could take the WAL past walBytesMax, and a larger WAL at open', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory, { walBytesMax: 300 });
    let appended = 0n;
    const refusal = async () => {
      for (;;) {
        try {
          await storage.appendAsync(batch({ entries: [entry(appended + 1n, 1n)] }));
          appended++;
        } catch (error) {
          return error as Error;
        }
      }
    };
    const error = await refusal();
    expect(error).toBeInstanceOf(ResourceExhaustedError);
    expect(error.message).toMatch(
      /^walBytesMax: the WAL could reach \d+ bytes, above the limit of 300; save a snapshot/,
    );
    expect(storage.walBytes).toBeLessThanOrEqual(300);
    await storage.close();
    expect((await recoveredState(directory, { walBytesMax: 300 })).entries).toHaveLength(Number(appended));
    expect(() => open(directory, { walBytesMax: 100 })).toThrow(
      /^walBytesMax: wal has \d+ bytes, above the limit of 100/,
    );
  });

  it('lets close finish the pending appends first, then refuses calls', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    const batches = appendsOf(1n, 5n, 1n);
    const pending = batches.map((one) => storage.appendAsync(one));
    const closed = storage.close();
    await expect(storage.appendAsync(batch({ entries: [entry(6n, 1n)] }))).rejects.toThrow(/storage: closed/);
    expect(() => storage.openSnapshot()).toThrow(FailedPreconditionError);
    await closed;
    await Promise.all(pending);
    expect(await recoveredState(directory)).toEqual(await modelOf(batches));
  });
});

describe('a failed fdatasync', () => {
  it('rejects its group and poisons the store: queued and later calls are refused until a reopen', async () => {
    const directory = temporaryDirectory();
    const io = new ScriptedIo();
    const { storage } = open(directory, { io });
    const before = appendsOf(1n, 2n, 1n);
    for (const one of before) await storage.appendAsync(one);
    const held = gate();
    io.fdatasyncScript.push(held, ioError('EIO', 'fdatasync'));
    // The first group is held in its fdatasync while the second gathers; the second's fdatasync fails.
    const holding = outcomeOf(storage.appendAsync(batch({ entries: [entry(3n, 1n)] })));
    await held.reached;
    const failing = appendsOf(4n, 5n, 1n).map((one) => outcomeOf(storage.appendAsync(one)));
    const snapshot = outcomeOf(
      storage.saveSnapshot({ lastSequence: 5n, lastEpoch: 1n, epochStarts: [{ epoch: 1n, firstSequence: 1n }] }, [], {
        keepEntriesFrom: 'none',
      }),
    );
    const behind = outcomeOf(storage.appendAsync(batch({ entries: [entry(6n, 1n)] })));
    held.open();
    expect(await holding).toBe('resolved');
    for (const outcome of await Promise.all(failing)) expect(String(outcome)).toMatch(/EIO: i\/o error, fdatasync/);
    for (const outcome of [await snapshot, await behind]) {
      expect(outcome).toBeInstanceOf(FailedPreconditionError);
      expect(String(outcome)).toMatch(/an earlier write failed \(EIO: i\/o error, fdatasync\).*reopen to recover/);
    }
    await expect(storage.appendAsync(batch({ entries: [entry(6n, 1n)] }))).rejects.toThrow(/an earlier write failed/);
    expect(io.fdatasyncs).toBe(before.length + 2);
    await storage.close();
    // What reached the disk is unknown: a prefix, with the failed group whole or not at all.
    const recovered = await recoveredState(directory);
    expect([await modelOf(appendsOf(1n, 3n, 1n)), await modelOf(appendsOf(1n, 5n, 1n))]).toContainEqual(recovered);
    // Reopened, it takes appends again from what it recovered.
    const { storage: reopened, recovered: again } = open(directory);
    const next = BigInt(again.entries.length + 1);
    await reopened.appendAsync(batch({ entries: [entry(next, 2n)] }));
    await reopened.close();
    expect((await recoveredState(directory)).entries.at(-1)).toEqual(entry(next, 2n));
  });

  it('poisons MemoryReplicaStorage alike when a failure is injected, until reopen()', async () => {
    const model = new MemoryReplicaStorage();
    await model.appendAsync(batch({ entries: [entry(1n, 1n)] }));
    model.failNextWrite();
    await expect(model.appendAsync(batch({ entries: [entry(2n, 1n)] }))).rejects.toThrow(/injected/);
    await expect(model.appendAsync(batch({ entries: [entry(2n, 1n)] }))).rejects.toThrow(FailedPreconditionError);
    const { storage, recovered } = model.reopen();
    expect(recovered.entries).toEqual([entry(1n, 1n)]);
    await storage.appendAsync(batch({ entries: [entry(2n, 1n)] }));
    expect(storage.recover().entries).toEqual([entry(1n, 1n), entry(2n, 1n)]);
  });
});

// appendAsync fdatasyncs on the thread pool, so the runner can
// send what does not depend on a batch meanwhile; appends still reach the
// disk one at a time, in call order, with snapshots and WAL rewrites in turn.
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FailedPreconditionError, ResourceExhaustedError } from '@bulwark/errors';
import type { PersistBatch } from '@bulwark/paxos';
import { MemoryStorage } from '@bulwark/paxos/testing';
import { acceptedThenChosenSteps } from '../testing/batch-arbitraries';
import {
  acceptBatch,
  batch,
  commitBatch,
  fileBytes,
  logOf,
  modelState,
  recoveredState,
  temporaryDirectories,
  walPath,
  walRecords,
} from '../testing/storage-fixtures';
import { AcceptedCommands } from './accepted-commands';
import { decodeLogBatch, resolveChosen } from './batch-codec';
import { FilePaxosStorage } from './file-paxos-storage';
import type { FilePaxosStorageOptions } from './storage-limits';

const temporaryDirectory = temporaryDirectories();

/** How a promise settled, observed from the moment it is made, so a rejection is never unhandled meanwhile. */
function outcomeOf(promise: Promise<void>): Promise<'resolved' | Error> {
  return promise.then(
    () => 'resolved' as const,
    (error: Error) => error,
  );
}

/** The batches of the WAL's records, in file order. */
function walBatches(directory: string) {
  const accepted = new AcceptedCommands();
  return walRecords(directory, 1 << 20).map((record) => {
    const resolved = resolveChosen(decodeLogBatch(record.payload, true), accepted);
    accepted.apply(resolved);
    return resolved;
  });
}

/** As checkAgainstModel, but every batch between restarts is appended with appendAsync at once, awaited only at the restart. */
async function checkAsyncAgainstModel(
  directory: string,
  steps: readonly (PersistBatch | 'restart')[],
  options: FilePaxosStorageOptions,
): Promise<void> {
  const model = new MemoryStorage();
  let { storage } = FilePaxosStorage.open(directory, options);
  let pending: Promise<void>[] = [];
  for (const step of steps) {
    if (step === 'restart') {
      await Promise.all(pending);
      pending = [];
      storage.close();
      const reopened = FilePaxosStorage.open(directory, options);
      expect(reopened.state).toEqual(model.recover());
      storage = reopened.storage;
      continue;
    }
    pending.push(storage.appendAsync(step));
    model.apply(step);
  }
  await Promise.all(pending);
  storage.close();
  expect(recoveredState(directory, options)).toEqual(model.recover());
}

describe('appendAsync', () => {
  it('resolves once the batch is durable: a reopen recovers it', async () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    const steps = logOf(3);
    for (const step of steps) await storage.appendAsync(step);
    storage.close();
    expect(recoveredState(directory)).toEqual(modelState(steps));
  });

  it('queues a call made before the previous one resolved behind it: records and resolutions in call order', async () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    // Every batch overwrites slot 1 and the promise, so only call order gives the model's state.
    const steps = Array.from({ length: 30 }, (_, index) => acceptBatch(1n, BigInt(index + 1), `value ${index}`));
    const resolvedInOrder: number[] = [];
    const appends = steps.map((step, index) => storage.appendAsync(step).then(() => resolvedInOrder.push(index)));
    expect(resolvedInOrder).toEqual([]);
    await Promise.all(appends);
    storage.close();
    expect(resolvedInOrder).toEqual(steps.map((_, index) => index));
    // A new store's WAL starts with one record of the empty state.
    expect(walBatches(directory).slice(1)).toEqual(steps);
    expect(recoveredState(directory)).toEqual(modelState(steps));
  });

  it('stores a chosen entry as a reference to a value accepted by an append still pending', async () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    const big = 'x'.repeat(1000);
    const accepted = storage.appendAsync(acceptBatch(1n, 1n, big));
    const chosen = storage.appendAsync(commitBatch(1n, big));
    await accepted;
    const afterAccept = fileBytes(walPath(directory));
    await chosen;
    expect(fileBytes(walPath(directory)) - afterAccept).toBeLessThan(20);
    storage.close();
    expect(recoveredState(directory)).toEqual(modelState([acceptBatch(1n, 1n, big), commitBatch(1n, big)]));
  });

  it('keeps snapshots and WAL rewrites in order with the appends queued around them (100 runs each, two settings)', async () => {
    for (const options of [{}, { walCompactionBytes: 300, recordBytesMax: 512 }]) {
      await fc.assert(
        fc.asyncProperty(acceptedThenChosenSteps, (steps) =>
          checkAsyncAgainstModel(temporaryDirectory(), steps, options),
        ),
        { numRuns: 100 },
      );
    }
  });

  it('makes a synchronous append throw while appendAsync calls are pending, since it would overtake them', async () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory);
    const pending = storage.appendAsync(acceptBatch(1n, 1n, 'first'));
    expect(() => storage.append(acceptBatch(2n, 1n, 'overtaking'))).toThrow(FailedPreconditionError);
    expect(() => storage.append(acceptBatch(2n, 1n, 'overtaking'))).toThrow(/1 appendAsync calls are pending/);
    await pending;
    storage.append(acceptBatch(2n, 1n, 'after it'));
    storage.close();
    expect(recoveredState(directory)).toEqual(
      modelState([acceptBatch(1n, 1n, 'first'), acceptBatch(2n, 1n, 'after it')]),
    );
  });

  it('rejects a call above pendingAppendsMax, or one append would refuse, at once and without queuing it', async () => {
    const directory = temporaryDirectory();
    const { storage } = FilePaxosStorage.open(directory, { pendingAppendsMax: 2, recordBytesMax: 1024 });
    const first = storage.appendAsync(acceptBatch(1n, 1n, 'one'));
    const second = storage.appendAsync(acceptBatch(2n, 1n, 'two'));
    await expect(storage.appendAsync(acceptBatch(3n, 1n, 'three'))).rejects.toThrow(ResourceExhaustedError);
    await expect(storage.appendAsync(acceptBatch(3n, 1n, 'three'))).rejects.toThrow(
      /pendingAppendsMax.*2 appends are pending/,
    );
    await Promise.all([first, second]);
    await expect(storage.appendAsync(acceptBatch(3n, 1n, 'x'.repeat(2000)))).rejects.toThrow(/recordBytesMax/);
    await storage.appendAsync(acceptBatch(4n, 1n, 'four'));
    storage.close();
    expect(recoveredState(directory)).toEqual(
      modelState([acceptBatch(1n, 1n, 'one'), acceptBatch(2n, 1n, 'two'), acceptBatch(4n, 1n, 'four')]),
    );
  });

  it('rejects a failed write and every append queued behind it, and refuses later ones until a reopen', async () => {
    const directory = temporaryDirectory();
    const log = logOf(2);
    const { storage } = FilePaxosStorage.open(directory);
    // A directory where the snapshot's temp file must go makes its creation fail (EISDIR), without mocking fs.
    mkdirSync(join(directory, 'paxos.snapshot.tmp'));
    const before = log.map((step) => outcomeOf(storage.appendAsync(step)));
    const failing = outcomeOf(storage.appendAsync(batch({ snapshot: { lastSlot: 2n, data: new Uint8Array([2]) } })));
    const behind = outcomeOf(storage.appendAsync(acceptBatch(3n, 1n, 'queued behind the failure')));
    expect(await Promise.all(before)).toEqual(log.map(() => 'resolved'));
    expect(String(await failing)).toMatch(/EISDIR/);
    expect(String(await behind)).toMatch(/an earlier write failed \(EISDIR.*reopen to recover/);
    await expect(storage.appendAsync(acceptBatch(4n, 1n, 'later'))).rejects.toThrow(FailedPreconditionError);
    expect(() => storage.append(acceptBatch(4n, 1n, 'later'))).toThrow(/an earlier write failed/);
    storage.close();
    rmdirSync(join(directory, 'paxos.snapshot.tmp'));
    expect(recoveredState(directory)).toEqual(modelState(log));
  });

  it('lets close write the pending appends first, then close the file, and refuses appends after it', async () => {
    const directory = temporaryDirectory();
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const filesBefore = openFiles();
    const { storage } = FilePaxosStorage.open(directory);
    const log = logOf(3);
    const pending = log.map((step) => storage.appendAsync(step));
    storage.close();
    await expect(storage.appendAsync(acceptBatch(4n, 1n, 'after close'))).rejects.toThrow(/closed/);
    expect(() => storage.append(acceptBatch(4n, 1n, 'after close'))).toThrow(/closed/);
    expect(openFiles()).toBe(filesBefore + 1);
    await Promise.all(pending);
    expect(openFiles()).toBe(filesBefore);
    expect(recoveredState(directory)).toEqual(modelState(log));
  });
});

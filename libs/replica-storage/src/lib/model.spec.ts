// Recovery gives back exactly what MemoryReplicaStorage holds after the same
// calls: random sequences of appends (with truncations and epoch raises) and
// snapshots (keeping entries or none), issued without waiting as a runner
// does, with a restart after each stretch.
import fc from 'fast-check';
import { MemoryReplicaStorage } from '../testing/memory-replica-storage';
import { abstractSteps, concreteStep, type AbstractStep } from '../testing/step-arbitraries';
import { chunksOf, open, readSnapshot, recoveredState, temporaryDirectories } from '../testing/storage-fixtures';
import type { FileReplicaStorage } from './file-replica-storage';
import type { FileReplicaStorageOptions } from './storage-limits';

const temporaryDirectory = temporaryDirectories();

async function expectSameSnapshot(storage: FileReplicaStorage, model: MemoryReplicaStorage): Promise<void> {
  const stored = storage.openSnapshot();
  const modelled = model.openSnapshot();
  expect(stored?.meta).toEqual(modelled?.meta);
  if (stored && modelled) expect(await readSnapshot(stored)).toEqual(await readSnapshot(modelled));
}

/** Runs `steps` against the disk and the model; every call between restarts is issued at once and awaited at the restart. */
async function checkAgainstModel(
  directory: string,
  steps: readonly AbstractStep[],
  options: FileReplicaStorageOptions,
): Promise<void> {
  const model = new MemoryReplicaStorage(options);
  let { storage } = open(directory, options);
  let pending: Promise<unknown>[] = [];
  let snapshotPending: Promise<unknown> = Promise.resolve();
  for (const [index, abstract] of steps.entries()) {
    if (abstract.kind === 'restart') {
      await Promise.all(pending);
      pending = [];
      await storage.close();
      const reopened = open(directory, options);
      expect(reopened.recovered).toEqual(model.recover());
      expect(reopened.report).toEqual({ tornTailBytes: 0, removedTempFiles: [], finishedInterruptedSnapshot: false });
      storage = reopened.storage;
      await expectSameSnapshot(storage, model);
      continue;
    }
    const step = concreteStep(abstract, model.recover(), index);
    if (step.kind === 'append') {
      pending.push(storage.appendAsync(step.batch));
      await model.appendAsync(step.batch);
      continue;
    }
    // One snapshot at a time; the appends around it are not waited for.
    await snapshotPending;
    const chunks = step.asyncChunks ? chunksOf(step.data, 4) : [step.data.subarray(0, 7), step.data.subarray(7)];
    const saved = storage.saveSnapshot(step.position, chunks, { keepEntriesFrom: step.keep });
    snapshotPending = saved;
    pending.push(saved);
    const modelled = await model.saveSnapshot(step.position, [step.data], { keepEntriesFrom: step.keep });
    pending.push(saved.then((meta) => expect(meta).toEqual(modelled)));
  }
  await Promise.all(pending);
  await storage.close();
  expect(await recoveredState(directory, options)).toEqual(model.recover());
}

describe('recovery against the in-memory model', () => {
  it('recovers what MemoryReplicaStorage holds after random appends, truncations, epoch raises and snapshots (60 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(abstractSteps, (steps) => checkAgainstModel(temporaryDirectory(), steps, {})),
      { numRuns: 60 },
    );
  });

  it('still does with small records: groups split, rewritten WALs span several records (40 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(abstractSteps, (steps) =>
        checkAgainstModel(temporaryDirectory(), steps, { recordBytesMax: 2048 }),
      ),
      { numRuns: 40 },
    );
  });
});

// Both stores check each call against the log every earlier call leaves,
// with the same rules (one ReplicaLogState), and refuse a call that does not
// fit at once, before anything is queued: the store stays usable.
import { InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';
import { expectInvalidArgument } from '@bulwark/errors/testing';
import { MemoryReplicaStorage } from '../testing/memory-replica-storage';
import {
  appendsOf,
  batch,
  entries,
  entry,
  open,
  positionIn,
  recoveredState,
  temporaryDirectories,
} from '../testing/storage-fixtures';
import type { ReplicaStorage } from './replica-types';

const temporaryDirectory = temporaryDirectories();

interface Subject {
  storage: ReplicaStorage;
  /** What a restart recovers, after closing. */
  recover(): Promise<unknown>;
}

const subjects: [string, (options?: { recordBytesMax?: number }) => Subject][] = [
  [
    'FileReplicaStorage',
    (options) => {
      const directory = temporaryDirectory();
      const { storage } = open(directory, options);
      return { storage, recover: async () => (await storage.close(), recoveredState(directory, options)) };
    },
  ],
  [
    'MemoryReplicaStorage',
    (options) => {
      const storage = new MemoryReplicaStorage(options);
      return { storage, recover: async () => storage.recover() };
    },
  ],
];

/** The InvalidArgumentError `call` rejects with, checked to name `field`. */
async function expectRefused(call: Promise<unknown>, field: string | RegExp): Promise<string> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).details.field).toMatch(field);
  return (error as Error).message;
}

describe.each(subjects)('%s', (_name, make) => {
  it('refuses entries that do not follow the log, or whose epoch goes back, and stays usable', async () => {
    const { storage, recover } = make();
    for (const one of appendsOf(1n, 3n, 2n)) await storage.appendAsync(one);
    expect(
      await expectRefused(storage.appendAsync(batch({ entries: [entry(5n, 2n)] })), 'batch.entries[0].sequence'),
    ).toMatch(/is 5, but the log continues at 4/);
    await expectRefused(
      storage.appendAsync(batch({ entries: [entry(4n, 2n), entry(6n, 2n)] })),
      'batch.entries[1].sequence',
    );
    expect(
      await expectRefused(storage.appendAsync(batch({ entries: [entry(4n, 1n)] })), 'batch.entries[0].epoch'),
    ).toMatch(/1 is older than the log's epoch 2/);
    await expectRefused(storage.appendAsync(batch({ entries: [entry(4n, -1n)] })), 'batch.entries[0].epoch');
    await expectRefused(storage.appendAsync(batch({ entries: [entry(4n, 1n << 64n)] })), 'batch.entries[0].epoch');
    // After truncating to 2 the log continues at 3, and may do so in a newer epoch.
    await storage.appendAsync(batch({ truncateAfter: 2n, entries: [entry(3n, 3n)] }));
    expect(await recover()).toEqual({
      highestEpoch: 0n,
      ledEpoch: 0n,
      entries: [...entries(1n, 2n, 2n), entry(3n, 3n)],
    });
  });

  it('refuses lowering either epoch, and truncating into the snapshot', async () => {
    const { storage, recover } = make();
    await storage.appendAsync(batch({ entries: entries(1n, 4n, 1n), highestEpoch: 3n, ledEpoch: 2n }));
    await expectRefused(storage.appendAsync(batch({ highestEpoch: 2n })), 'batch.highestEpoch');
    await expectRefused(storage.appendAsync(batch({ ledEpoch: 1n })), 'batch.ledEpoch');
    await storage.appendAsync(batch({ highestEpoch: 3n, ledEpoch: 2n }));
    await storage.saveSnapshot(positionIn(1n, 3n), [new Uint8Array([3])], { keepEntriesFrom: 2n });
    expect(await expectRefused(storage.appendAsync(batch({ truncateAfter: 2n })), 'batch.truncateAfter')).toMatch(
      /below the snapshot's last sequence 3/,
    );
    await storage.appendAsync(batch({ truncateAfter: 3n }));
    const recovered = await recover();
    expect(recovered).toMatchObject({ highestEpoch: 3n, ledEpoch: 2n, entries: entries(2n, 3n, 1n) });
  });

  it('refuses snapshots that do not fit the log', async () => {
    const { storage } = make();
    await storage.appendAsync(batch({ entries: [...entries(1n, 3n, 1n), ...entries(4n, 6n, 2n)] }));
    const keep = (keepEntriesFrom: bigint | 'none') => ({ keepEntriesFrom });
    const at5 = {
      lastSequence: 5n,
      lastEpoch: 2n,
      epochStarts: [
        { epoch: 1n, firstSequence: 1n },
        { epoch: 2n, firstSequence: 4n },
      ],
    };
    // Keeping entries: the snapshot must describe this log, and the kept entries must reach it without a gap.
    expect(await expectRefused(storage.saveSnapshot(at5, [], keep(7n)), 'keepEntriesFrom')).toMatch(/gap/);
    await expectRefused(storage.saveSnapshot({ ...at5, lastSequence: 7n }, [], keep(1n)), 'keepEntriesFrom');
    await expectRefused(
      storage.saveSnapshot(
        {
          ...at5,
          epochStarts: [
            { epoch: 1n, firstSequence: 1n },
            { epoch: 2n, firstSequence: 3n },
          ],
        },
        [],
        keep(1n),
      ),
      'snapshot.epochStarts',
    );
    await expectRefused(storage.saveSnapshot({ ...at5, lastEpoch: 1n }, [], keep(1n)), 'snapshot.lastEpoch');
    await expectRefused(
      storage.saveSnapshot({ ...at5, epochStarts: [{ epoch: 2n, firstSequence: 4n }] }, [], keep('none')),
      /snapshot.epochStarts\[0\]/,
    );
    await expectRefused(
      storage.saveSnapshot(at5, [], { keepEntriesFrom: 'all' as unknown as bigint }),
      'keepEntriesFrom',
    );
    await storage.saveSnapshot(at5, [], keep(4n));
    expect(
      await expectRefused(storage.saveSnapshot(positionIn(1n, 3n), [], keep(1n)), 'snapshot.lastSequence'),
    ).toMatch(/older than the stored snapshot's 5; only 'none' may go back/);
  });

  it("starts over from nothing with an empty snapshot and 'none' (a failover lost writes this member applied)", async () => {
    const { storage, recover } = make();
    await storage.appendAsync(batch({ entries: entries(1n, 6n, 1n), highestEpoch: 2n, ledEpoch: 1n }));
    await storage.saveSnapshot(positionIn(1n, 5n), [new Uint8Array([5])], { keepEntriesFrom: 3n });
    await storage.saveSnapshot(positionIn(2n, 0n), [], { keepEntriesFrom: 'none' });
    await storage.appendAsync(batch({ entries: entries(1n, 2n, 2n) }));
    expect(await recover()).toEqual({
      highestEpoch: 2n,
      ledEpoch: 1n,
      snapshot: { lastSequence: 0n, lastEpoch: 0n, epochStarts: [], dataBytes: 0n, checksum: 0 },
      entries: entries(1n, 2n, 2n),
    });
  });

  it('refuses a batch above recordBytesMax with ResourceExhaustedError, and stays usable', async () => {
    const { storage, recover } = make({ recordBytesMax: 1024 });
    const big = batch({ entries: [{ sequence: 1n, epoch: 1n, command: new Uint8Array(1100) }] });
    await expect(storage.appendAsync(big)).rejects.toThrow(ResourceExhaustedError);
    await expect(storage.appendAsync(big)).rejects.toThrow(
      /recordBytesMax: a batch of \d+ encoded bytes is above the limit of 1024/,
    );
    await storage.appendAsync(batch({ entries: [entry(1n, 1n)] }));
    expect(await recover()).toMatchObject({ entries: [entry(1n, 1n)] });
  });
});

describe('options', () => {
  it('are checked when a store opens, naming the option', () => {
    expect(
      expectInvalidArgument(() => open(temporaryDirectory(), { recordBytesMax: 0 }), 'options.recordBytesMax'),
    ).toBe('options.recordBytesMax: must be an integer from 1 to 1073741824, got 0');
    expectInvalidArgument(() => open(temporaryDirectory(), { walBytesMax: 2 ** 31 }), 'options.walBytesMax');
    expectInvalidArgument(() => new MemoryReplicaStorage({ pendingBytesMax: 1.5 }), 'options.pendingBytesMax');
    expectInvalidArgument(() => new MemoryReplicaStorage({ snapshotBytesMax: 2 ** 60 }), 'options.snapshotBytesMax');
  });
});

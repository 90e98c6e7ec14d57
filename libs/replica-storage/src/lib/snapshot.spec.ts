// saveSnapshot streams the data to snapshot.tmp, renames it into place and
// then rewrites the WAL, each step durable before the next; openSnapshot
// reads it back in chunks, checking its checksum. These tests also leave the
// files as a crash at each step would.
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { crc32c, headerBytes, StorageCorruptionError } from '@bulwark/durable-log';
import { FailedPreconditionError } from '@bulwark/errors';
import { MemoryReplicaStorage } from '../testing/memory-replica-storage';
import {
  appendsOf,
  batch,
  chunksOf,
  entry,
  fileBytes,
  gate,
  ioError,
  open,
  openError,
  outcomeOf,
  positionIn,
  readBytes,
  readSnapshot,
  recoveredState,
  ScriptedIo,
  snapshotData,
  snapshotPath,
  temporaryDirectories,
  turnEventLoop,
  walPath,
  writeBytes,
} from '../testing/storage-fixtures';
import type { KeepEntries, PersistBatch, ReplicaStorage, SnapshotPoint } from './replica-types';
import { snapshotChunkBytes } from './snapshot-file';

const temporaryDirectory = temporaryDirectories();

const mebibyte = 1024 * 1024;
const log = appendsOf(1n, 10n, 1n);
const at8 = positionIn(1n, 8n);
const data = snapshotData(5000, 8);
const afterSnapshot = batch({ entries: [entry(11n, 2n)], highestEpoch: 2n });

type Call = PersistBatch | { snapshot: SnapshotPoint; data: Uint8Array; keep: KeepEntries };

/** Runs the calls against `storage` in order, awaiting each. */
async function run(storage: ReplicaStorage, calls: readonly Call[]): Promise<void> {
  for (const call of calls) {
    if ('snapshot' in call) await storage.saveSnapshot(call.snapshot, [call.data], { keepEntriesFrom: call.keep });
    else await storage.appendAsync(call);
  }
}

async function modelOf(calls: readonly Call[]) {
  const model = new MemoryReplicaStorage();
  await run(model, calls);
  return model.recover();
}

/** Where the data starts in a snapshot file: after the header and the meta record. */
function dataOffsetOf(directory: string, dataBytes: number): number {
  return fileBytes(snapshotPath(directory)) - dataBytes;
}

describe('saveSnapshot', () => {
  it('streams the chunks to disk as they come, and openSnapshot reads them back in 1 MiB chunks', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    await run(storage, log);
    const big = snapshotData(2 * mebibyte + 12345, 3);
    let yielded = 0;
    // Each chunk is on disk before the next is asked for: the snapshot is never whole in memory.
    async function* producer(): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < big.length; offset += 100_000) {
        if (offset > 0) expect(fileBytes(join(directory, 'snapshot.tmp'))).toBeGreaterThan(yielded);
        const chunk = big.slice(offset, offset + 100_000);
        yielded += chunk.length;
        yield chunk;
      }
    }
    const meta = await storage.saveSnapshot(at8, producer(), { keepEntriesFrom: 7n });
    expect(meta).toEqual({ ...at8, dataBytes: BigInt(big.length), checksum: crc32c(big) });
    expect(existsSync(join(directory, 'snapshot.tmp'))).toBe(false);
    const stored = storage.openSnapshot();
    expect(stored?.meta).toEqual(meta);
    const sizes: number[] = [];
    const parts: Uint8Array[] = [];
    for await (const chunk of stored?.chunks() ?? []) {
      sizes.push(chunk.length);
      parts.push(chunk);
    }
    expect(sizes).toEqual([snapshotChunkBytes, snapshotChunkBytes, big.length - 2 * snapshotChunkBytes]);
    // Buffer.equals, not toEqual: Jest compares megabytes element by element, slowly.
    expect(Buffer.concat(parts).equals(big)).toBe(true);
    await storage.close();
    const recovered = await recoveredState(directory);
    expect(recovered).toEqual(await modelOf([...log, { snapshot: at8, data: big, keep: 7n }]));
    expect(recovered.entries.map((one) => one.sequence)).toEqual([7n, 8n, 9n, 10n]);
  });

  it("rewrites the WAL to hold only the kept entries, or none with 'none'", async () => {
    for (const keep of [1n, 9n, 'none'] as const) {
      const directory = temporaryDirectory();
      const { storage } = open(directory);
      const padded = appendsOf(1n, 10n, 1n).map((one) => ({
        ...one,
        entries: one.entries.map((e) => ({ ...e, command: new Uint8Array(500).fill(7) })),
      }));
      await run(storage, padded);
      const before = storage.walBytes;
      await storage.saveSnapshot(at8, [data], { keepEntriesFrom: keep });
      expect(storage.walBytes).toBe(fileBytes(walPath(directory)));
      if (keep === 1n) expect(storage.walBytes).toBeGreaterThan(before * 0.9);
      else expect(storage.walBytes).toBeLessThan(before * 0.25);
      await storage.appendAsync(keep === 'none' ? batch({ entries: [entry(9n, 2n)] }) : afterSnapshot);
      await storage.close();
      const expected = await modelOf([
        ...padded,
        { snapshot: at8, data, keep },
        keep === 'none' ? batch({ entries: [entry(9n, 2n)] }) : afterSnapshot,
      ]);
      expect(await recoveredState(directory)).toEqual(expected);
    }
  });

  it('keeping entries, lets appends go on while the data streams; they survive with it', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    await run(storage, log);
    const held = gate();
    async function* heldChunks(): AsyncGenerator<Uint8Array> {
      yield data.subarray(0, 100);
      await held.pass();
      yield data.subarray(100);
    }
    const saving = outcomeOf(storage.saveSnapshot(at8, heldChunks(), { keepEntriesFrom: 5n }));
    await held.reached;
    const during = [
      afterSnapshot,
      batch({ truncateAfter: 10n, entries: [entry(11n, 3n), entry(12n, 3n)], ledEpoch: 3n }),
    ];
    await storage.appendAsync(during[0] as PersistBatch);
    await storage.appendAsync(during[1] as PersistBatch);
    expect(existsSync(snapshotPath(directory))).toBe(false);
    held.open();
    expect(await saving).toBe('resolved');
    await storage.close();
    const model = new MemoryReplicaStorage();
    await run(model, log);
    const modelled = model.saveSnapshot(at8, [data], { keepEntriesFrom: 5n });
    await run(model, during);
    await modelled;
    expect(await recoveredState(directory)).toEqual(model.recover());
  });

  it("with 'none', holds the appends called after it until it is done", async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    await run(storage, log);
    const held = gate();
    async function* heldChunks(): AsyncGenerator<Uint8Array> {
      await held.pass();
      yield data;
    }
    const position = positionIn(1n, 20n);
    const saving = outcomeOf(storage.saveSnapshot(position, heldChunks(), { keepEntriesFrom: 'none' }));
    await held.reached;
    let appended = false;
    const after = storage.appendAsync(batch({ entries: [entry(21n, 2n)] })).then(() => (appended = true));
    await turnEventLoop();
    expect(appended).toBe(false);
    await expect(storage.saveSnapshot(position, [], { keepEntriesFrom: 'none' })).rejects.toThrow(
      /another snapshot is being saved/,
    );
    held.open();
    expect(await saving).toBe('resolved');
    await after;
    await storage.close();
    expect(await recoveredState(directory)).toEqual(
      await modelOf([...log, { snapshot: position, data, keep: 'none' }, batch({ entries: [entry(21n, 2n)] })]),
    );
  });

  it('gives a reader the snapshot it opened, even when a newer one is saved meanwhile', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    await run(storage, log);
    await storage.saveSnapshot(positionIn(1n, 5n), [data], { keepEntriesFrom: 1n });
    const reader = storage.openSnapshot();
    await storage.saveSnapshot(at8, chunksOf(snapshotData(3000, 9)), { keepEntriesFrom: 1n });
    expect(reader?.meta.lastSequence).toBe(5n);
    expect(await readSnapshot(reader as NonNullable<typeof reader>)).toEqual(data);
    expect(storage.openSnapshot()?.meta.lastSequence).toBe(8n);
    expect(() => reader?.chunks()).toThrow(FailedPreconditionError);
    await storage.close();
  });
});

describe('a crash during saveSnapshot', () => {
  const oldState: Call[] = log;
  const newState = (keep: KeepEntries): Call[] => [...log, { snapshot: at8, data, keep }];

  it('before the snapshot rename (its fsync failed, or the process died while streaming) recovers the old state', async () => {
    const directory = temporaryDirectory();
    const io = new ScriptedIo();
    io.fsyncScript.push(ioError('EIO', 'fsync'));
    const { storage } = open(directory, { io });
    await run(storage, log);
    await expect(storage.saveSnapshot(at8, chunksOf(data), { keepEntriesFrom: 3n })).rejects.toThrow(/EIO/);
    await expect(storage.appendAsync(afterSnapshot)).rejects.toThrow(/an earlier write failed \(EIO/);
    await storage.close();
    expect(existsSync(join(directory, 'snapshot.tmp'))).toBe(true);
    const reopened = open(directory);
    await reopened.storage.close();
    expect(reopened.recovered).toEqual(await modelOf(oldState));
    expect(reopened.report.removedTempFiles).toEqual(['snapshot.tmp']);
    expect(existsSync(join(directory, 'snapshot.tmp'))).toBe(false);
    // A half-written temp file from a process that died is garbage just the same.
    writeBytes(join(directory, 'snapshot.tmp'), snapshotData(777, 1));
    expect(await recoveredState(directory)).toEqual(await modelOf(oldState));
  });

  it('fails and poisons the store when the chunks throw or pass snapshotBytesMax, leaving the old state', async () => {
    for (const [chunks, message] of [
      [
        (async function* () {
          yield data;
          throw new Error('state machine iterator broke');
        })(),
        /state machine iterator broke/,
      ],
      [[data, data], /snapshotBytesMax: the snapshot's data passed the limit of 6000 bytes/],
    ] as const) {
      const directory = temporaryDirectory();
      const { storage } = open(directory, { snapshotBytesMax: 6000 });
      await run(storage, log);
      await expect(storage.saveSnapshot(at8, chunks, { keepEntriesFrom: 'none' })).rejects.toThrow(message);
      await expect(storage.appendAsync(afterSnapshot)).rejects.toThrow(FailedPreconditionError);
      await storage.close();
      expect(await recoveredState(directory)).toEqual(await modelOf(oldState));
    }
  });

  it.each([[5n], ['none']] as [KeepEntries][])(
    'between the snapshot rename and the WAL rename (keep %s) recovers the new state, finishing the rewrite',
    async (keep) => {
      const directory = temporaryDirectory();
      const { storage } = open(directory);
      await run(storage, log);
      await storage.close();
      const oldWal = join(temporaryDirectory(), 'wal');
      copyFileSync(walPath(directory), oldWal);
      const reopened = open(directory);
      await run(reopened.storage, [{ snapshot: at8, data, keep }]);
      await reopened.storage.close();
      // The snapshot is renamed into place; the WAL rewrite got as far as a partial temp file.
      copyFileSync(oldWal, walPath(directory));
      writeBytes(join(directory, 'wal.tmp'), readBytes(oldWal).subarray(0, 30));
      const recovered = open(directory);
      expect(recovered.report).toEqual({
        tornTailBytes: 0,
        removedTempFiles: ['wal.tmp'],
        finishedInterruptedSnapshot: true,
      });
      expect(recovered.recovered).toEqual(await modelOf(newState(keep)));
      await recovered.storage.appendAsync(keep === 'none' ? batch({ entries: [entry(9n, 2n)] }) : afterSnapshot);
      await recovered.storage.close();
      const after = keep === 'none' ? batch({ entries: [entry(9n, 2n)] }) : afterSnapshot;
      expect(await recoveredState(directory)).toEqual(await modelOf([...newState(keep), after]));
    },
  );
  it('between the renames, with appends made while the data streamed, recovers them and the snapshot', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    await run(storage, log);
    const held = gate();
    async function* heldChunks(): AsyncGenerator<Uint8Array> {
      await held.pass();
      yield data;
    }
    const saving = storage.saveSnapshot(at8, heldChunks(), { keepEntriesFrom: 6n });
    await held.reached;
    const during = [afterSnapshot, batch({ truncateAfter: 9n, entries: [entry(10n, 3n)], ledEpoch: 3n })];
    await run(storage, during);
    // The WAL as the rewrite finds it: the appends made meanwhile are in it.
    const walAtCommit = join(temporaryDirectory(), 'wal');
    copyFileSync(walPath(directory), walAtCommit);
    held.open();
    await saving;
    await storage.close();
    copyFileSync(walAtCommit, walPath(directory));
    const model = new MemoryReplicaStorage();
    await run(model, log);
    const modelled = model.saveSnapshot(at8, [data], { keepEntriesFrom: 6n });
    await run(model, during);
    await modelled;
    const reopened = open(directory);
    await reopened.storage.close();
    expect(reopened.report.finishedInterruptedSnapshot).toBe(true);
    expect(reopened.recovered).toEqual(model.recover());
  });
});

describe('a damaged snapshot', () => {
  /** A store holding the log and a snapshot at 8 of `data`, closed. */
  async function storeWithSnapshot(): Promise<string> {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    await run(storage, [...log, { snapshot: at8, data, keep: 5n }]);
    await storage.close();
    return directory;
  }

  it('is refused at open naming the snapshot: data, meta record, header, size', async () => {
    const directory = await storeWithSnapshot();
    const pristine = readBytes(snapshotPath(directory));
    const dataOffset = dataOffsetOf(directory, data.length);
    const cases: [(bytes: Uint8Array) => Uint8Array, number, RegExp][] = [
      [(bytes) => flip(bytes, dataOffset + 1234), dataOffset, /data checksum mismatch/],
      [(bytes) => flip(bytes, headerBytes + 10), headerBytes, /meta record checksum mismatch/],
      [(bytes) => flip(bytes, 2), 0, /magic is/],
      [
        (bytes) => bytes.subarray(0, bytes.length - 1),
        dataOffset,
        /4999 bytes of data follow the meta record, which says 5000/,
      ],
      [(bytes) => new Uint8Array([...bytes, 0]), dataOffset, /5001 bytes of data/],
      [(bytes) => bytes.subarray(0, headerBytes + 5), headerBytes, /ends inside its meta record/],
    ];
    for (const [change, offset, problem] of cases) {
      writeBytes(snapshotPath(directory), change(pristine.slice()));
      const error = openError(directory);
      expect({ file: error.file, offset: error.offset }).toEqual({ file: 'snapshot', offset });
      expect(error.message).toMatch(new RegExp(`^snapshot at byte ${offset}: `));
      expect(error.problem).toMatch(problem);
    }
  });

  it('is found by openSnapshot at the end of its chunks when damaged after open', async () => {
    const directory = await storeWithSnapshot();
    const { storage } = open(directory);
    writeBytes(
      snapshotPath(directory),
      flip(readBytes(snapshotPath(directory)), dataOffsetOf(directory, data.length) + 10),
    );
    const stored = storage.openSnapshot();
    const seen: Uint8Array[] = [];
    const reading = (async () => {
      for await (const chunk of stored?.chunks() ?? []) seen.push(chunk);
    })();
    await expect(reading).rejects.toThrow(StorageCorruptionError);
    await expect(reading).rejects.toThrow(/^snapshot at byte \d+: data checksum mismatch/);
    expect(seen).toHaveLength(1);
    await storage.close();
  });

  it('above snapshotBytesMax is refused at open naming the limit', async () => {
    const directory = await storeWithSnapshot();
    expect(() => open(directory, { snapshotBytesMax: 4000 })).toThrow(FailedPreconditionError);
    expect(() => open(directory, { snapshotBytesMax: 4000 })).toThrow(
      /^snapshotBytesMax: snapshot holds 5000 bytes of data, above the limit of 4000/,
    );
  });
});

function flip(bytes: Uint8Array, offset: number): Uint8Array {
  bytes[offset] = (bytes[offset] as number) ^ 0x10;
  return bytes;
}

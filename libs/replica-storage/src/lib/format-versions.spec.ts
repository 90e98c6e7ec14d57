// Files of format version 1, whose records were checksummed without a salt,
// are still read by that rule; the WAL is rewritten in the current version
// before anything is appended to it, and the snapshot is replaced by the next.
import { recordAt, scanLog } from '@bulwark/durable-log';
import { encodeUnsaltedFile } from '@bulwark/durable-log/testing';
import {
  appendsOf,
  batch,
  chunksOf,
  entry,
  open,
  positionIn,
  readBytes,
  readSnapshot,
  recoveredState,
  snapshotData,
  snapshotPath,
  temporaryDirectories,
  walPath,
  writeBytes,
} from '../testing/storage-fixtures';
import { formatVersion, parseHeader } from './file-format';

const temporaryDirectory = temporaryDirectories();

const recordBytesMax = 1 << 20;
const data = snapshotData(3000, 5);

/** The WAL in `directory` as version 1 would have written it: the same records, salt-less. */
function rewriteWalAsVersion1(directory: string): void {
  const bytes = readBytes(walPath(directory));
  const header = parseHeader(bytes, 'wal', 'wal');
  const payloads = scanLog(bytes, header, recordBytesMax, 'wal').records.map((record) => record.payload);
  writeBytes(
    walPath(directory),
    encodeUnsaltedFile({ magic: 'RPWL', version: 1, generation: header.generation }, payloads),
  );
}

/** The snapshot in `directory` as version 1 would have written it: the same meta record, salt-less, and data. */
function rewriteSnapshotAsVersion1(directory: string, dataBytes: number): void {
  const bytes = readBytes(snapshotPath(directory));
  const header = parseHeader(bytes, 'snapshot', 'snapshot');
  const meta = recordAt(bytes.subarray(0, bytes.length - dataBytes), header.recordsStart, recordBytesMax, header.salt);
  if (meta.kind !== 'valid') throw new Error(`the snapshot's meta record is ${meta.kind}`);
  const front = encodeUnsaltedFile({ magic: 'RPSN', version: 1, generation: header.generation }, [meta.payload]);
  writeBytes(snapshotPath(directory), new Uint8Array([...front, ...bytes.subarray(bytes.length - dataBytes)]));
}

describe('files of format version 1', () => {
  it('are read, the WAL rewritten in the current version before anything is appended to it', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    for (const one of appendsOf(1n, 8n, 1n)) await storage.appendAsync(one);
    await storage.saveSnapshot(positionIn(1n, 5n), chunksOf(data), { keepEntriesFrom: 3n });
    await storage.appendAsync(batch({ entries: [entry(9n, 1n)] }));
    await storage.close();
    const before = await recoveredState(directory);
    rewriteWalAsVersion1(directory);
    rewriteSnapshotAsVersion1(directory, data.length);

    const reopened = open(directory);
    expect(reopened.recovered).toEqual(before);
    const snapshot = reopened.storage.openSnapshot();
    expect(snapshot && (await readSnapshot(snapshot))).toEqual(data);
    expect(parseHeader(readBytes(walPath(directory)), 'wal', 'wal').formatVersion).toBe(formatVersion);
    expect(parseHeader(readBytes(snapshotPath(directory)), 'snapshot', 'snapshot').formatVersion).toBe(1);
    await reopened.storage.appendAsync(batch({ entries: [entry(10n, 1n)] }));
    await reopened.storage.close();
    expect(await recoveredState(directory)).toEqual({ ...before, entries: [...before.entries, entry(10n, 1n)] });
  });

  it('is rewritten no larger than it was but for the header, so a WAL under walBytesMax stays under it', async () => {
    const directory = temporaryDirectory();
    const { storage } = open(directory);
    // Small entries, many to a batch: one batch per entry would add a field header to each.
    for (let first = 1n; first <= 400n; first += 20n) {
      await storage.appendAsync(batch({ entries: appendsOf(first, first + 19n, 1n).flatMap((one) => one.entries) }));
    }
    await storage.close();
    rewriteWalAsVersion1(directory);
    const version1Bytes = readBytes(walPath(directory)).length;
    const headerGrowth = 12;

    const reopened = open(directory, { walBytesMax: version1Bytes });
    await reopened.storage.close();
    expect(readBytes(walPath(directory)).length).toBeLessThanOrEqual(version1Bytes + headerGrowth);
  });
});

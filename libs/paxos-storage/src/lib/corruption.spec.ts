// Damage to what was acknowledged is never mistaken for a torn last write:
// open refuses with StorageCorruptionError naming the file, the byte offset
// and the problem, and leaves the files as they were for inspection.
import { rmSync } from 'node:fs';
import { crc32c, headerBytes } from '@bulwark/durable-log';
import type { PersistBatch } from '@bulwark/paxos';
import {
  batch,
  fileBytes,
  logOf,
  openError,
  persistAll,
  readBytes,
  recordAppendedTo,
  snapshotPath,
  temporaryDirectories,
  walPath,
  writeBytes,
} from '../testing/storage-fixtures';

const temporaryDirectory = temporaryDirectories();

/** Persists `batches` one open at a time and returns where each one's record starts in the WAL. */
function persistRecordingStarts(directory: string, batches: readonly PersistBatch[]): number[] {
  persistAll(directory, []);
  return batches.map((step) => {
    const start = fileBytes(walPath(directory));
    persistAll(directory, [step]);
    return start;
  });
}

/** Applies `damage` to a copy of the file, checks open refuses as expected, and that the file was left untouched. */
function expectRefusal(
  directory: string,
  path: string,
  damage: (bytes: Uint8Array) => Uint8Array,
  expected: { file: string; offset: number; problem: RegExp },
): void {
  const damaged = damage(readBytes(path).slice());
  writeBytes(path, damaged);
  const error = openError(directory);
  expect({ file: error.file, offset: error.offset }).toEqual({ file: expected.file, offset: expected.offset });
  expect(error.problem).toMatch(expected.problem);
  expect(error.message).toContain(`${expected.file} at byte ${expected.offset}: `);
  expect(readBytes(path)).toEqual(damaged);
}

function flipByte(offset: number, mask = 0x01): (bytes: Uint8Array) => Uint8Array {
  return (bytes) => {
    bytes[offset] = (bytes[offset] as number) ^ mask;
    return bytes;
  };
}

describe('WAL corruption', () => {
  it('refuses a flipped byte in an earlier record, which a torn write cannot cause', () => {
    const directory = temporaryDirectory();
    const starts = persistRecordingStarts(directory, logOf(3));
    const second = starts[1] as number;
    expectRefusal(directory, walPath(directory), flipByte(second + 8 + 3), {
      file: 'paxos.wal',
      offset: second,
      problem: /checksum mismatch with \d+ more bytes after it/,
    });
  });

  it('refuses an earlier record whose length is damaged above the limit', () => {
    const directory = temporaryDirectory();
    const starts = persistRecordingStarts(directory, logOf(3));
    const first = starts[0] as number;
    expectRefusal(directory, walPath(directory), flipByte(first + 3, 0x80), {
      file: 'paxos.wal',
      offset: first,
      problem: /record length \d+ is above the limit of 67108864/,
    });
  });

  it('refuses an earlier record whose damaged length runs past the end, since valid records follow it', () => {
    const directory = temporaryDirectory();
    const starts = persistRecordingStarts(directory, logOf(3));
    const first = starts[0] as number;
    expectRefusal(directory, walPath(directory), flipByte(first + 3), {
      file: 'paxos.wal',
      offset: first,
      problem: new RegExp(
        `file ends \\d+ bytes into a \\d+-byte payload, yet intact records follow from byte ${starts[1]}`,
      ),
    });
  });

  it('refuses an earlier record whose damaged length reaches exactly the end, since valid records follow it', () => {
    const directory = temporaryDirectory();
    const starts = persistRecordingStarts(directory, logOf(3));
    const first = starts[0] as number;
    const reachEnd = (bytes: Uint8Array) => {
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(first, bytes.length - first - 8, true);
      return bytes;
    };
    expectRefusal(directory, walPath(directory), reachEnd, {
      file: 'paxos.wal',
      offset: first,
      problem: new RegExp(`^record checksum mismatch, yet intact records follow from byte ${starts[1]}`),
    });
  });

  it('refuses a cut-off record it cannot prove is the last within the search budget', () => {
    const directory = temporaryDirectory();
    persistAll(directory, logOf(1));
    const start = fileBytes(walPath(directory));
    // A record claiming 1 MB, then 2048 headers each claiming exactly the rest of the file: every one is a
    // chain to the end whose payload must be checksummed, about 150 MB in all.
    const fakeHeaders = 2048;
    const tail = new Uint8Array(8 + fakeHeaders * 8 + 64 * 1024);
    const view = new DataView(tail.buffer);
    view.setUint32(0, 1_000_000, true);
    for (let header = 8; header < 8 + fakeHeaders * 8; header += 8)
      view.setUint32(header, tail.length - header - 8, true);
    expectRefusal(directory, walPath(directory), (bytes) => new Uint8Array([...bytes, ...tail]), {
      file: 'paxos.wal',
      offset: start,
      problem: /cannot prove the cut-off record is a torn last write/,
    });
  });

  it('refuses a record whose checksum holds but whose payload this code did not write', () => {
    const directory = temporaryDirectory();
    persistAll(directory, logOf(1));
    const start = fileBytes(walPath(directory));
    const unknownField = new Uint8Array([15 << 3, 1]);
    const appendUnknownField = (bytes: Uint8Array) =>
      new Uint8Array([...bytes, ...recordAppendedTo(bytes, unknownField)]);
    expectRefusal(directory, walPath(directory), appendUnknownField, {
      file: 'paxos.wal',
      offset: start,
      problem: /record does not decode: LogRecord has unexpected field 15/,
    });
  });

  it('refuses a bad magic, a header failing either checksum, an unknown version and a cut header', () => {
    const directory = temporaryDirectory();
    persistAll(directory, logOf(2));
    const original = readBytes(walPath(directory));
    const restore = () => writeBytes(walPath(directory), original);
    expectRefusal(directory, walPath(directory), flipByte(0), {
      file: 'paxos.wal',
      offset: 0,
      problem: /magic is 0x.* not "PXWL"/,
    });
    restore();
    expectRefusal(directory, walPath(directory), flipByte(9), {
      file: 'paxos.wal',
      offset: 16,
      problem: /header checksum mismatch/,
    });
    restore();
    expectRefusal(directory, walPath(directory), flipByte(21), {
      file: 'paxos.wal',
      offset: 28,
      problem: /header checksum mismatch/,
    });
    restore();
    const version4 = (bytes: Uint8Array) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      view.setUint32(4, 4, true);
      view.setUint32(16, crc32c(bytes.subarray(0, 16)), true);
      return bytes;
    };
    expectRefusal(directory, walPath(directory), version4, {
      file: 'paxos.wal',
      offset: 4,
      problem: /format version 4 is not supported \(this build reads 1 to 3\)/,
    });
    restore();
    expectRefusal(directory, walPath(directory), (bytes) => bytes.subarray(0, 12), {
      file: 'paxos.wal',
      offset: 0,
      problem: /fewer than its 20-byte header/,
    });
  });
});

describe('snapshot corruption', () => {
  function storeWithSnapshot(): string {
    const directory = temporaryDirectory();
    persistAll(directory, [...logOf(4), batch({ snapshot: { lastSlot: 4n, data: new Uint8Array(64).fill(9) } })]);
    return directory;
  }

  it('refuses a flipped byte in the snapshot data', () => {
    const directory = storeWithSnapshot();
    expectRefusal(directory, snapshotPath(directory), flipByte(fileBytes(snapshotPath(directory)) - 10), {
      file: 'paxos.snapshot',
      offset: headerBytes,
      problem: /record checksum mismatch/,
    });
  });

  it('refuses a cut snapshot and one with bytes after its record: it is renamed into place whole, never torn', () => {
    const directory = storeWithSnapshot();
    const original = readBytes(snapshotPath(directory));
    expectRefusal(directory, snapshotPath(directory), (bytes) => bytes.subarray(0, bytes.length - 1), {
      file: 'paxos.snapshot',
      offset: headerBytes,
      problem: /the file ends \d+ bytes into a \d+-byte payload/,
    });
    writeBytes(snapshotPath(directory), original);
    expectRefusal(directory, snapshotPath(directory), (bytes) => new Uint8Array([...bytes, 0]), {
      file: 'paxos.snapshot',
      offset: original.length,
      problem: /1 unexpected bytes after the record/,
    });
  });

  it('refuses a WAL-less store that has a snapshot', () => {
    const directory = storeWithSnapshot();
    rmSync(walPath(directory));
    const error = openError(directory);
    expect(error.file).toBe('paxos.wal');
    expect(error.problem).toMatch(/missing while paxos.snapshot exists/);
  });

  it('refuses a WAL from an older generation than the snapshot before it (a file restored from elsewhere)', () => {
    const directory = temporaryDirectory();
    persistAll(directory, logOf(2));
    const generationZeroWal = readBytes(walPath(directory));
    persistAll(directory, [batch({ snapshot: { lastSlot: 1n, data: new Uint8Array([1]) } })]);
    persistAll(directory, [batch({ snapshot: { lastSlot: 2n, data: new Uint8Array([2]) } })]);
    writeBytes(walPath(directory), generationZeroWal);
    const error = openError(directory);
    expect({ file: error.file, offset: error.offset }).toEqual({ file: 'paxos.wal', offset: 8 });
    expect(error.problem).toMatch(/generation 0 does not continue paxos.snapshot generation 2/);
  });
});

// The framing and the torn-tail rules on their own, over bytes in memory:
// each store's own tests check them again through its files.
import { encodeUnsaltedFile, frameUnsaltedRecord } from '../testing';
import { crc32c } from './crc32c';
import { headerBytes, parseFileHeader, unsaltedHeaderBytes, type FileHeaderFormat } from './file-header';
import { readOnlyRecord, scanLog } from './log-scanner';
import { encodeRecordFile } from './record-file';
import { frameRecord, recordAt, recordHeaderBytes } from './record-framing';
import { StorageCorruptionError } from './storage-corruption-error';

const payloadBytesMax = 1024;
const ascii = (text: string) => new TextEncoder().encode(text);
const format: FileHeaderFormat = {
  magic: 'TEST',
  description: 'a test log',
  version: 2,
  oldestReadableVersion: 1,
  saltedSinceVersion: 2,
};

function concat(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** `record` where a file (of zeros before it) has it at `offset`. */
function placedAt(record: Uint8Array, offset: number): Uint8Array {
  return concat(new Uint8Array(offset), record);
}

const payloads = [ascii('first'), ascii('second record'), ascii('third')];
const file = encodeRecordFile(format, 0n, payloads);
const log = concat(...file.chunks);
const layout = parseFileHeader(log, format, 'log');
const starts = file.chunks
  .slice(1)
  .map((_, index) => file.chunks.slice(0, index + 1).reduce((offset, chunk) => offset + chunk.length, 0));
const lastStart = starts.at(-1) as number;

function scanError(bytes: Uint8Array): StorageCorruptionError {
  try {
    scanLog(bytes, layout, payloadBytesMax, 'log');
  } catch (error) {
    if (error instanceof StorageCorruptionError) return error;
    throw error;
  }
  throw new Error('scanLog accepted the bytes');
}

/**
 * A salt with which an empty record at `offset` has the CRC-32C 0: CRC is
 * affine over GF(2), so the salt's low 32 bits that give 0 solve 32 linear
 * equations (Gaussian elimination), where a search would take 2^32 tries.
 */
function saltZeroingEmptyRecordAt(offset: number): bigint {
  const emptyRecordCrc = (saltLowBits: number) => {
    const seedAndLength = new DataView(new ArrayBuffer(20)); // [salt u64][offset u64][length u32 = 0]
    seedAndLength.setUint32(0, saltLowBits, true);
    seedAndLength.setBigUint64(8, BigInt(offset), true);
    return crc32c(new Uint8Array(seedAndLength.buffer));
  };
  const constant = emptyRecordCrc(0);
  const rowsByPivot = new Map<number, { vector: number; combination: number }>();
  for (let bit = 0; bit < 32; bit++) {
    let vector = (emptyRecordCrc((1 << bit) >>> 0) ^ constant) >>> 0;
    let combination = (1 << bit) >>> 0;
    for (let pivot = 31; pivot >= 0 && vector !== 0; pivot--) {
      if (((vector >>> pivot) & 1) === 0) continue;
      const row = rowsByPivot.get(pivot);
      if (!row) {
        rowsByPivot.set(pivot, { vector, combination });
        break;
      }
      vector = (vector ^ row.vector) >>> 0;
      combination = (combination ^ row.combination) >>> 0;
    }
  }
  let remaining = constant;
  let saltLowBits = 0;
  for (let pivot = 31; pivot >= 0; pivot--) {
    if (((remaining >>> pivot) & 1) === 0) continue;
    const row = rowsByPivot.get(pivot) as { vector: number; combination: number };
    remaining = (remaining ^ row.vector) >>> 0;
    saltLowBits = (saltLowBits ^ row.combination) >>> 0;
  }
  expect(emptyRecordCrc(saltLowBits)).toBe(0);
  return BigInt(saltLowBits);
}

describe('record framing', () => {
  it('frames a payload behind its length and a checksum', () => {
    const record = frameRecord(ascii('abc'), { salt: 5n, offset: 40 });
    expect(record.length).toBe(recordHeaderBytes + 3);
    expect(recordAt(placedAt(record, 40), 40, payloadBytesMax, 5n)).toEqual({
      kind: 'valid',
      payload: ascii('abc'),
      end: 40 + record.length,
    });
  });

  it('makes a record valid only at its offset, in a file of its salt', () => {
    const record = frameRecord(ascii('abc'), { salt: 5n, offset: 40 });
    expect(recordAt(placedAt(record, 48), 48, payloadBytesMax, 5n).kind).toBe('checksum-mismatch');
    expect(recordAt(placedAt(record, 40), 40, payloadBytesMax, 6n).kind).toBe('checksum-mismatch');
    expect(recordAt(placedAt(record, 40), 40, payloadBytesMax, undefined).kind).toBe('checksum-mismatch');
    const unsalted = frameUnsaltedRecord(ascii('abc'));
    expect(recordAt(placedAt(unsalted, 40), 40, payloadBytesMax, undefined).kind).toBe('valid');
    expect(recordAt(placedAt(unsalted, 40), 40, payloadBytesMax, 5n).kind).toBe('checksum-mismatch');
  });

  it('never reads zeros as a record, not even where an empty record checksums to 0', () => {
    const offset = 64;
    const salt = saltZeroingEmptyRecordAt(offset);
    const empty = frameRecord(new Uint8Array(0), { salt, offset });
    expect(new DataView(empty.buffer).getUint32(4, true)).toBe(1);
    expect(recordAt(placedAt(empty, offset), offset, payloadBytesMax, salt).kind).toBe('valid');
    expect(recordAt(new Uint8Array(offset + recordHeaderBytes), offset, payloadBytesMax, salt).kind).toBe(
      'checksum-mismatch',
    );
    expect(recordAt(new Uint8Array(recordHeaderBytes), 0, payloadBytesMax, undefined).kind).toBe('checksum-mismatch');
  });

  it('tells a cut-off, a checksum mismatch and a length above the limit apart', () => {
    const record = frameRecord(ascii('abcdef'), { salt: 5n, offset: 0 });
    expect(recordAt(record.subarray(0, 5), 0, payloadBytesMax, 5n)).toEqual({
      kind: 'cut-off',
      presentBytes: 5,
      length: undefined,
    });
    expect(recordAt(record.subarray(0, 10), 0, payloadBytesMax, 5n)).toEqual({
      kind: 'cut-off',
      presentBytes: 10,
      length: 6,
    });
    const flipped = record.slice();
    flipped[recordHeaderBytes] = (flipped[recordHeaderBytes] as number) ^ 1;
    expect(recordAt(flipped, 0, payloadBytesMax, 5n)).toEqual({ kind: 'checksum-mismatch', end: record.length });
    expect(recordAt(record, 0, 5, 5n)).toEqual({ kind: 'too-long', length: 6 });
  });
});

describe('file header', () => {
  it('holds the generation and a salt of its own in each new file', () => {
    expect(layout).toEqual({ generation: 0n, formatVersion: 2, recordsStart: headerBytes, salt: file.salt });
    const other = encodeRecordFile(format, 7n, []);
    expect(parseFileHeader(concat(...other.chunks), format, 'log').generation).toBe(7n);
    expect(other.salt).not.toBe(file.salt);
  });

  it('reads a version before salts in its 20-byte layout, with no salt', () => {
    const old = encodeUnsaltedFile({ magic: 'TEST', version: 1, generation: 3n }, [ascii('old')]);
    expect(parseFileHeader(old, format, 'log')).toEqual({
      generation: 3n,
      formatVersion: 1,
      recordsStart: unsaltedHeaderBytes,
      salt: undefined,
    });
  });

  it('refuses a salted header cut short or failing the checksum of its salt', () => {
    expect(() => parseFileHeader(log.subarray(0, 30), format, 'log')).toThrow(
      /log at byte 0: file has 30 bytes, fewer than its 32-byte header \(format version 2\)/,
    );
    const damaged = log.slice();
    damaged[21] = (damaged[21] as number) ^ 1;
    expect(() => parseFileHeader(damaged, format, 'log')).toThrow(/log at byte 28: header checksum mismatch/);
  });
});

describe('scanLog', () => {
  it('returns every record after the header, and where the valid ones end', () => {
    const scanned = scanLog(log, layout, payloadBytesMax, 'log');
    expect(scanned.records.map((record) => record.offset)).toEqual(starts);
    expect(scanned.records.map((record) => record.payload)).toEqual(payloads);
    expect(scanned.validBytes).toBe(log.length);
  });

  it('reads a file of a version before salts by the checksum of that version', () => {
    const old = encodeUnsaltedFile({ magic: 'TEST', version: 1, generation: 0n }, payloads);
    const scanned = scanLog(old, parseFileHeader(old, format, 'log'), payloadBytesMax, 'log');
    expect(scanned.records.map((record) => record.payload)).toEqual(payloads);
    expect(scanned.validBytes).toBe(old.length);
  });

  it('drops a last record the file ends inside of, at every cut', () => {
    for (let end = lastStart + 1; end < log.length; end++) {
      const scanned = scanLog(log.subarray(0, end), layout, payloadBytesMax, 'log');
      expect(scanned.records).toHaveLength(2);
      expect(scanned.validBytes).toBe(lastStart);
    }
  });

  it('drops a last record cut right after a frame its payload holds: unsalted, or a record of this file copied', () => {
    const copiedRecord = file.chunks[1] as Uint8Array;
    for (const frameInPayload of [frameUnsaltedRecord(ascii('client bytes')), copiedRecord]) {
      const payload = concat(ascii('value: '), frameInPayload, ascii(' and more'));
      const lastRecord = frameRecord(payload, { salt: file.salt, offset: log.length });
      const cut = log.length + recordHeaderBytes + ascii('value: ').length + frameInPayload.length;
      const torn = concat(log, lastRecord).subarray(0, cut);
      expect(scanLog(torn, layout, payloadBytesMax, 'log')).toEqual({
        records: starts.map((offset, index) => ({ offset, payload: payloads[index] })),
        validBytes: log.length,
      });
    }
  });

  it('drops a tail of zero bytes of any length', () => {
    for (const zeros of [1, recordHeaderBytes, 4096]) {
      const scanned = scanLog(concat(log, new Uint8Array(zeros)), layout, payloadBytesMax, 'log');
      expect(scanned.records).toHaveLength(3);
      expect(scanned.validBytes).toBe(log.length);
    }
  });

  it('refuses a complete last record failing its checksum: it may have been acknowledged', () => {
    const damaged = log.slice();
    damaged[log.length - 1] = (damaged[log.length - 1] as number) ^ 1;
    const error = scanError(damaged);
    expect(error.offset).toBe(lastStart);
    expect(error.problem).toMatch(/checksum mismatch in the last record, which is complete/);
  });

  it('refuses damage to an earlier record, naming the file and its offset', () => {
    const damaged = log.slice();
    const second = starts[1] as number;
    damaged[second + recordHeaderBytes + 2] = (damaged[second + recordHeaderBytes + 2] as number) ^ 0x10;
    const error = scanError(damaged);
    expect({ file: error.file, offset: error.offset }).toEqual({ file: 'log', offset: second });
    expect(error.message).toMatch(new RegExp(`^log at byte ${second}: record checksum mismatch`));
  });

  it('refuses a middle length made longer, since intact records follow it', () => {
    const damaged = log.slice();
    const second = starts[1] as number;
    new DataView(damaged.buffer).setUint32(second, 200, true);
    const error = scanError(damaged);
    expect(error.offset).toBe(second);
    expect(error.problem).toMatch(/not a torn last write/);
  });

  it('refuses a length above the limit', () => {
    const damaged = log.slice();
    new DataView(damaged.buffer).setUint32(lastStart, payloadBytesMax + 1, true);
    expect(scanError(damaged).problem).toMatch(/above the limit of 1024/);
  });
});

describe('readOnlyRecord', () => {
  const snapshot = concat(...encodeRecordFile(format, 1n, [ascii('snapshot')]).chunks);
  const snapshotLayout = parseFileHeader(snapshot, format, 'snap');

  it('returns the one record of a whole file', () => {
    expect(readOnlyRecord(snapshot, snapshotLayout, payloadBytesMax, 'snap')).toEqual(ascii('snapshot'));
  });

  it('refuses a cut, a flipped byte and bytes after the record', () => {
    const flipped = snapshot.slice();
    flipped[snapshot.length - 1] = (flipped[snapshot.length - 1] as number) ^ 1;
    for (const damaged of [snapshot.subarray(0, snapshot.length - 1), flipped, concat(snapshot, new Uint8Array(1))]) {
      expect(() => readOnlyRecord(damaged, snapshotLayout, payloadBytesMax, 'snap')).toThrow(StorageCorruptionError);
    }
  });
});

describe('StorageCorruptionError', () => {
  it('names the file, offset and problem, and fits both a refused start and a failed read', () => {
    const error = new StorageCorruptionError('wal', 42, 'record checksum mismatch');
    expect(error).toMatchObject({ file: 'wal', offset: 42, problem: 'record checksum mismatch' });
    expect(error.message).toBe(
      'wal at byte 42: record checksum mismatch; refusing to start, or to go on, rather than lose durable state',
    );
  });
});

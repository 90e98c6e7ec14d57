// The framing and the torn-tail rules on their own, over bytes in memory:
// each store's own tests check them again through its files.
import { readOnlyRecord, scanLog } from './log-scanner';
import { frameRecord, headerBytes, recordAt, recordHeaderBytes } from './record-framing';
import { StorageCorruptionError } from './storage-corruption-error';

const payloadBytesMax = 1024;
const ascii = (text: string) => new TextEncoder().encode(text);
const header = new Uint8Array(headerBytes).fill(0xaa);

function concat(...parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

const records = [ascii('first'), ascii('second record'), ascii('third')].map(frameRecord);
const log = concat(header, ...records);
const starts = records.map((_, index) =>
  records.slice(0, index).reduce((offset, record) => offset + record.length, headerBytes),
);
const lastStart = starts.at(-1) as number;

function scanError(bytes: Uint8Array): StorageCorruptionError {
  try {
    scanLog(bytes, payloadBytesMax, 'log');
  } catch (error) {
    if (error instanceof StorageCorruptionError) return error;
    throw error;
  }
  throw new Error('scanLog accepted the bytes');
}

describe('record framing', () => {
  it('frames a payload behind its length and a checksum covering the length', () => {
    const record = frameRecord(ascii('abc'));
    expect(record.length).toBe(recordHeaderBytes + 3);
    expect(recordAt(record, 0, payloadBytesMax)).toEqual({ kind: 'valid', payload: ascii('abc'), end: record.length });
  });

  it('never reads zeros as a record, not even an empty one', () => {
    expect(recordAt(new Uint8Array(recordHeaderBytes), 0, payloadBytesMax).kind).toBe('checksum-mismatch');
    expect(recordAt(frameRecord(new Uint8Array(0)), 0, payloadBytesMax).kind).toBe('valid');
  });

  it('tells a cut-off, a checksum mismatch and a length above the limit apart', () => {
    const record = frameRecord(ascii('abcdef'));
    expect(recordAt(record.subarray(0, 5), 0, payloadBytesMax)).toEqual({
      kind: 'cut-off',
      presentBytes: 5,
      length: undefined,
    });
    expect(recordAt(record.subarray(0, 10), 0, payloadBytesMax)).toEqual({
      kind: 'cut-off',
      presentBytes: 10,
      length: 6,
    });
    const flipped = record.slice();
    flipped[recordHeaderBytes] = (flipped[recordHeaderBytes] as number) ^ 1;
    expect(recordAt(flipped, 0, payloadBytesMax)).toEqual({ kind: 'checksum-mismatch', end: record.length });
    expect(recordAt(record, 0, 5)).toEqual({ kind: 'too-long', length: 6 });
  });
});

describe('scanLog', () => {
  it('returns every record after the header, and where the valid ones end', () => {
    const scanned = scanLog(log, payloadBytesMax, 'log');
    expect(scanned.records.map((record) => record.offset)).toEqual(starts);
    expect(scanned.records[1]?.payload).toEqual(ascii('second record'));
    expect(scanned.validBytes).toBe(log.length);
  });

  it('drops a last record the file ends inside of, at every cut', () => {
    for (let end = lastStart + 1; end < log.length; end++) {
      const scanned = scanLog(log.subarray(0, end), payloadBytesMax, 'log');
      expect(scanned.records).toHaveLength(2);
      expect(scanned.validBytes).toBe(lastStart);
    }
  });

  it('drops a tail of zero bytes of any length', () => {
    for (const zeros of [1, recordHeaderBytes, 4096]) {
      const scanned = scanLog(concat(log, new Uint8Array(zeros)), payloadBytesMax, 'log');
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
  const file = concat(header, frameRecord(ascii('snapshot')));

  it('returns the one record of a whole file', () => {
    expect(readOnlyRecord(file, payloadBytesMax, 'snap')).toEqual(ascii('snapshot'));
  });

  it('refuses a cut, a flipped byte and bytes after the record', () => {
    const flipped = file.slice();
    flipped[file.length - 1] = (flipped[file.length - 1] as number) ^ 1;
    for (const damaged of [file.subarray(0, file.length - 1), flipped, concat(file, new Uint8Array(1))]) {
      expect(() => readOnlyRecord(damaged, payloadBytesMax, 'snap')).toThrow(StorageCorruptionError);
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

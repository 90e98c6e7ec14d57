// Record payloads in protobuf wire format, written with the process' shared BinaryWriter (no
// schema file: the layout below is the schema; README.md documents it).
// Sequences and epochs are uint64 bigints, exact to 2^64 - 1. Decoding is
// strict: an unknown field number or wire type, a singular field twice, or
// a missing required field is an error, never skipped.
//
//   WalRecord      { WalBase base = 1; repeated Batch batch = 2; }
//   WalBase        { uint64 log_start = 1; uint64 snapshot_last_sequence = 2;
//                    repeated EpochStart snapshot_epoch_start = 3;
//                    uint64 highest_epoch = 4; uint64 led_epoch = 5; }
//   Batch          { uint64 truncate_after = 1; repeated Entry entry = 2;
//                    uint64 highest_epoch = 3; uint64 led_epoch = 4; }
//   Entry          { uint64 sequence = 1; uint64 epoch = 2; bytes command = 3; }
//   EpochStart     { uint64 epoch = 1; uint64 first_sequence = 2; }
//   SnapshotRecord { uint64 last_sequence = 1; uint64 last_epoch = 2;
//                    repeated EpochStart epoch_start = 3; fixed64 data_bytes = 4;
//                    fixed32 data_crc32c = 5; uint64 keep_entries_from = 6; }
//
// A WAL's first record holds its base (where the log starts, and the epochs
// as they were when the WAL was written) and no other record does. A batch's
// optional fields are written only when set: presence, not a zero, is what a
// replay applies. The snapshot record has fixed-width data_bytes and
// data_crc32c so its size is known before the data is streamed after it;
// keep_entries_from is absent for 'none'.
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { encodeWithSharedWriter } from '@bulwark/contracts';
import { InvalidArgumentError, ResourceExhaustedError } from '@bulwark/errors';
import type { EpochStart, KeepEntries, LogEntry, PersistBatch, SnapshotMeta, SnapshotPoint } from './replica-types';

const uint64Max = (1n << 64n) - 1n;

/** `value` if it is a bigint in 0..2^64-1; throws InvalidArgumentError naming `field` otherwise. */
export function checkedUint64(value: bigint, field: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > uint64Max) {
    throw new InvalidArgumentError(field, `${String(value)} is not a bigint in 0..2^64-1`);
  }
  return value;
}

/** What a WAL continues from: written first in every WAL, so a WAL replays on its own. */
export interface WalBase {
  /** The sequence of the log's first entry, or of the next one when the log is empty. */
  readonly logStart: bigint;
  /** The last sequence of the snapshot the WAL was written after (0: none). */
  readonly snapshotLastSequence: bigint;
  /** That snapshot's epoch starts: the history of the log through snapshotLastSequence. */
  readonly snapshotEpochStarts: readonly EpochStart[];
  readonly highestEpoch: bigint;
  readonly ledEpoch: bigint;
}

function writeEpochStarts(writer: BinaryWriter, field: number, starts: readonly EpochStart[], name: string): void {
  starts.forEach((start, index) => {
    writer
      .tag(field, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.Varint)
      .uint64(checkedUint64(start.epoch, `${name}[${index}].epoch`))
      .tag(2, WireType.Varint)
      .uint64(checkedUint64(start.firstSequence, `${name}[${index}].firstSequence`))
      .join();
  });
}

/** The batch as a WalRecord `batch` field: records of grouped batches are these, concatenated. */
export function encodeBatchField(batch: PersistBatch): Uint8Array {
  return encodeWithSharedWriter((writer) => writeBatchField(writer, batch));
}

function writeBatchField(writer: BinaryWriter, batch: PersistBatch): BinaryWriter {
  writer.tag(2, WireType.LengthDelimited).fork();
  if (batch.truncateAfter !== undefined) {
    writer.tag(1, WireType.Varint).uint64(checkedUint64(batch.truncateAfter, 'batch.truncateAfter'));
  }
  batch.entries.forEach((entry, index) => {
    if (!(entry.command instanceof Uint8Array)) {
      throw new InvalidArgumentError(`batch.entries[${index}].command`, 'must be a Uint8Array');
    }
    writer
      .tag(2, WireType.LengthDelimited)
      .fork()
      .tag(1, WireType.Varint)
      .uint64(checkedUint64(entry.sequence, `batch.entries[${index}].sequence`))
      .tag(2, WireType.Varint)
      .uint64(checkedUint64(entry.epoch, `batch.entries[${index}].epoch`))
      .tag(3, WireType.LengthDelimited)
      .bytes(entry.command)
      .join();
  });
  if (batch.highestEpoch !== undefined) {
    writer.tag(3, WireType.Varint).uint64(checkedUint64(batch.highestEpoch, 'batch.highestEpoch'));
  }
  if (batch.ledEpoch !== undefined)
    writer.tag(4, WireType.Varint).uint64(checkedUint64(batch.ledEpoch, 'batch.ledEpoch'));
  return writer.join();
}

/** The base as a WalRecord `base` field. */
export function encodeBaseField(base: WalBase): Uint8Array {
  return encodeWithSharedWriter((writer) => writeBaseField(writer, base));
}

function writeBaseField(writer: BinaryWriter, base: WalBase): BinaryWriter {
  writer
    .tag(1, WireType.LengthDelimited)
    .fork()
    .tag(1, WireType.Varint)
    .uint64(checkedUint64(base.logStart, 'base.logStart'))
    .tag(2, WireType.Varint)
    .uint64(checkedUint64(base.snapshotLastSequence, 'base.snapshotLastSequence'));
  writeEpochStarts(writer, 3, base.snapshotEpochStarts, 'base.snapshotEpochStarts');
  return writer
    .tag(4, WireType.Varint)
    .uint64(checkedUint64(base.highestEpoch, 'base.highestEpoch'))
    .tag(5, WireType.Varint)
    .uint64(checkedUint64(base.ledEpoch, 'base.ledEpoch'))
    .join();
}

/** A WalBase field's largest size with these epoch starts, whatever the other fields hold. */
export function baseFieldBytesMax(snapshotEpochStarts: readonly EpochStart[]): number {
  return encodeBaseField({
    logStart: uint64Max,
    snapshotLastSequence: uint64Max,
    snapshotEpochStarts,
    highestEpoch: uint64Max,
    ledEpoch: uint64Max,
  }).length;
}

/** encodeBatchField, refused with ResourceExhaustedError when the batch alone is above a record's bound. */
export function encodeBatchWithin(batch: PersistBatch, recordBytesMax: number): Uint8Array {
  const field = encodeBatchField(batch);
  if (field.length > recordBytesMax) {
    throw new ResourceExhaustedError(
      'recordBytesMax',
      `a batch of ${field.length} encoded bytes is above the limit of ${recordBytesMax}`,
    );
  }
  return field;
}

/** Throws ResourceExhaustedError unless a snapshot's meta record, and the WAL base written after it, each fit in a record. */
export function checkSnapshotWithin(position: SnapshotPoint, keep: KeepEntries, recordBytesMax: number): void {
  const metaBytes = encodeSnapshotRecord({ ...position, dataBytes: 0n, checksum: 0 }, keep).length;
  const bytes = Math.max(metaBytes, baseFieldBytesMax(position.epochStarts));
  if (bytes > recordBytesMax) {
    throw new ResourceExhaustedError(
      'recordBytesMax',
      `the snapshot's ${position.epochStarts.length} epoch starts take ${bytes} bytes, above the limit of ${recordBytesMax}`,
    );
  }
}

export function encodeSnapshotRecord(meta: SnapshotMeta, keep: KeepEntries): Uint8Array {
  return encodeWithSharedWriter((writer) => writeSnapshotRecord(writer, meta, keep));
}

function writeSnapshotRecord(writer: BinaryWriter, meta: SnapshotMeta, keep: KeepEntries): BinaryWriter {
  writer
    .tag(1, WireType.Varint)
    .uint64(checkedUint64(meta.lastSequence, 'snapshot.lastSequence'))
    .tag(2, WireType.Varint)
    .uint64(checkedUint64(meta.lastEpoch, 'snapshot.lastEpoch'));
  writeEpochStarts(writer, 3, meta.epochStarts, 'snapshot.epochStarts');
  writer
    .tag(4, WireType.Bit64)
    .fixed64(checkedUint64(meta.dataBytes, 'snapshot.dataBytes'))
    .tag(5, WireType.Bit32)
    .fixed32(meta.checksum);
  if (keep !== 'none') writer.tag(6, WireType.Varint).uint64(checkedUint64(keep, 'keepEntriesFrom'));
  return writer;
}

// --- decoding ----------------------------------------------------------------

interface FieldSpec {
  wireType: WireType;
  repeated?: boolean;
  read(reader: BinaryReader): void;
}

/** Reads every field with its spec; returns the field numbers present. Throws a plain Error: the caller names file and offset. */
function readMessage(bytes: Uint8Array, message: string, fields: Record<number, FieldSpec>): Set<number> {
  const reader = new BinaryReader(bytes);
  const seen = new Set<number>();
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    const spec = fields[field];
    if (!spec || spec.wireType !== wireType) {
      throw new Error(`${message} has unexpected field ${field} with wire type ${wireType}`);
    }
    if (!spec.repeated && seen.has(field)) throw new Error(`${message} has field ${field} more than once`);
    seen.add(field);
    spec.read(reader);
  }
  return seen;
}

function requireFields(seen: Set<number>, required: readonly number[], message: string): void {
  const missing = required.filter((field) => !seen.has(field));
  if (missing.length > 0) throw new Error(`${message} lacks field ${missing.join(', ')}`);
}

function varint(read: (value: bigint) => void): FieldSpec {
  return { wireType: WireType.Varint, read: (reader) => read(BigInt(reader.uint64())) };
}

function repeatedMessage(read: (bytes: Uint8Array) => void): FieldSpec {
  return { wireType: WireType.LengthDelimited, repeated: true, read: (reader) => read(reader.bytes()) };
}

function decodeEpochStart(bytes: Uint8Array): EpochStart {
  let epoch = 0n;
  let firstSequence = 0n;
  const seen = readMessage(bytes, 'EpochStart', {
    1: varint((value) => (epoch = value)),
    2: varint((value) => (firstSequence = value)),
  });
  requireFields(seen, [1, 2], 'EpochStart');
  return { epoch, firstSequence };
}

function decodeEntry(bytes: Uint8Array): LogEntry {
  let sequence = 0n;
  let epoch = 0n;
  let command = new Uint8Array(0);
  const seen = readMessage(bytes, 'Entry', {
    1: varint((value) => (sequence = value)),
    2: varint((value) => (epoch = value)),
    // A copy, so a recovered entry does not keep the whole file's buffer alive.
    3: { wireType: WireType.LengthDelimited, read: (reader) => (command = new Uint8Array(reader.bytes())) },
  });
  requireFields(seen, [1, 2, 3], 'Entry');
  return { sequence, epoch, command };
}

function decodeBatch(bytes: Uint8Array): PersistBatch {
  let truncateAfter: bigint | undefined;
  let highestEpoch: bigint | undefined;
  let ledEpoch: bigint | undefined;
  const entries: LogEntry[] = [];
  readMessage(bytes, 'Batch', {
    1: varint((value) => (truncateAfter = value)),
    2: repeatedMessage((entry) => entries.push(decodeEntry(entry))),
    3: varint((value) => (highestEpoch = value)),
    4: varint((value) => (ledEpoch = value)),
  });
  return {
    entries,
    ...(truncateAfter !== undefined && { truncateAfter }),
    ...(highestEpoch !== undefined && { highestEpoch }),
    ...(ledEpoch !== undefined && { ledEpoch }),
  };
}

function decodeBase(bytes: Uint8Array): WalBase {
  const base = { logStart: 0n, snapshotLastSequence: 0n, highestEpoch: 0n, ledEpoch: 0n };
  const snapshotEpochStarts: EpochStart[] = [];
  const seen = readMessage(bytes, 'WalBase', {
    1: varint((value) => (base.logStart = value)),
    2: varint((value) => (base.snapshotLastSequence = value)),
    3: repeatedMessage((start) => snapshotEpochStarts.push(decodeEpochStart(start))),
    4: varint((value) => (base.highestEpoch = value)),
    5: varint((value) => (base.ledEpoch = value)),
  });
  requireFields(seen, [1, 2, 4, 5], 'WalBase');
  return { ...base, snapshotEpochStarts };
}

export interface WalRecord {
  base?: WalBase;
  batches: PersistBatch[];
}

export function decodeWalRecord(payload: Uint8Array): WalRecord {
  const record: WalRecord = { batches: [] };
  readMessage(payload, 'WalRecord', {
    1: { wireType: WireType.LengthDelimited, read: (reader) => (record.base = decodeBase(reader.bytes())) },
    2: repeatedMessage((batch) => record.batches.push(decodeBatch(batch))),
  });
  return record;
}

export interface SnapshotRecord {
  meta: SnapshotMeta;
  keep: KeepEntries;
}

export function decodeSnapshotRecord(payload: Uint8Array): SnapshotRecord {
  const fields = { lastSequence: 0n, lastEpoch: 0n, dataBytes: 0n, checksum: 0 };
  const epochStarts: EpochStart[] = [];
  let keep: KeepEntries = 'none';
  const seen = readMessage(payload, 'SnapshotRecord', {
    1: varint((value) => (fields.lastSequence = value)),
    2: varint((value) => (fields.lastEpoch = value)),
    3: repeatedMessage((start) => epochStarts.push(decodeEpochStart(start))),
    4: { wireType: WireType.Bit64, read: (reader) => (fields.dataBytes = BigInt(reader.fixed64())) },
    5: { wireType: WireType.Bit32, read: (reader) => (fields.checksum = reader.fixed32()) },
    6: varint((value) => (keep = value)),
  });
  requireFields(seen, [1, 2, 4, 5], 'SnapshotRecord');
  return { meta: { ...fields, epochStarts }, keep };
}

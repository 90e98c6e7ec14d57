// Payload encodings of WAL and snapshot records, in protobuf wire format
// written by hand with BinaryWriter (no schema file: the layout below is the
// schema, and README.md documents it). Rounds and slots are uint64 bigints,
// never numbers, so values beyond 2^53 survive exactly. Decoding is strict:
// a field number or wire type this code does not write is an error, never
// skipped, so a payload is either read completely or refused.
//
//   LogRecord      { Ballot promised = 1; repeated AcceptedEntry accepted = 2;
//                    repeated ChosenEntry chosen = 3; uint64 commit_slot = 4; }
//   Ballot         { uint64 round = 1; string node_id = 2; }
//   AcceptedEntry  { uint64 slot = 1; Ballot ballot = 2; bytes command = 3; }
//   ChosenEntry    { uint64 slot = 1; bytes command = 2; }
//   SnapshotRecord { uint64 last_slot = 1; bytes data = 2; }
//
// promised and commit_slot are written only when the batch sets them: their
// presence, not a zero value, is what a replay applies.
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { InvalidArgumentError } from '@bulwark/errors';
import type { AcceptedEntry, Ballot, DurableState, Entry, PersistBatch, Snapshot } from '@bulwark/paxos';

/** A persist batch as one WAL record holds it: snapshots live in their own file. */
export type LogBatch = Omit<PersistBatch, 'snapshot'>;

const uint64Max = (1n << 64n) - 1n;

function checkedUint64(value: bigint, name: string): bigint {
  if (value < 0n || value > uint64Max) throw new InvalidArgumentError(name, `${value} is outside 0..2^64-1`);
  return value;
}

function varintField(field: number, value: bigint, name: string): Uint8Array {
  return new BinaryWriter().tag(field, WireType.Varint).uint64(checkedUint64(value, name)).finish();
}

function bytesField(field: number, value: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(field, WireType.LengthDelimited).bytes(value).finish();
}

function encodeBallot(ballot: Ballot, name: string): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.Varint)
    .uint64(checkedUint64(ballot.round, `${name}.round`))
    .tag(2, WireType.LengthDelimited)
    .string(ballot.nodeId)
    .finish();
}

function encodeAccepted(entry: AcceptedEntry): Uint8Array {
  return concatBytes([
    varintField(1, entry.slot, 'accepted.slot'),
    bytesField(2, encodeBallot(entry.ballot, 'accepted.ballot')),
    bytesField(3, entry.command),
  ]);
}

function encodeChosen(entry: Entry): Uint8Array {
  return concatBytes([varintField(1, entry.slot, 'chosen.slot'), bytesField(2, entry.command)]);
}

/** The batch as a list of encoded top-level fields; any concatenation of them is a valid LogRecord. */
function batchFields(batch: LogBatch): Uint8Array[] {
  const fields: Uint8Array[] = [];
  if (batch.promised) fields.push(bytesField(1, encodeBallot(batch.promised, 'promised')));
  for (const entry of batch.accepted) fields.push(bytesField(2, encodeAccepted(entry)));
  for (const entry of batch.chosen) fields.push(bytesField(3, encodeChosen(entry)));
  if (batch.commitSlot !== undefined) fields.push(varintField(4, batch.commitSlot, 'commitSlot'));
  return fields;
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** One record's payload: the whole batch, so a crash keeps all of it or none. */
export function encodeLogBatch(batch: LogBatch): Uint8Array {
  return concatBytes(batchFields(batch));
}

/**
 * Payloads of at most payloadBytesMax bytes each that, replayed in order,
 * apply the same changes as the batch. For rewriting a whole WAL, where the
 * file is renamed into place at once and so needs no single-record atomicity.
 */
export function encodeLogBatchInPieces(batch: LogBatch, payloadBytesMax: number): Uint8Array[] {
  const pieces: Uint8Array[][] = [[]];
  let pieceBytes = 0;
  // Every field fits in a piece alone: it came in a batch whose whole payload was within the limit.
  for (const field of batchFields(batch)) {
    if (pieceBytes > 0 && pieceBytes + field.length > payloadBytesMax) {
      pieces.push([]);
      pieceBytes = 0;
    }
    (pieces[pieces.length - 1] as Uint8Array[]).push(field);
    pieceBytes += field.length;
  }
  return pieces.map(concatBytes);
}

/** A SnapshotRecord's bytes beyond its data: two tags, a 10-byte varint slot and a 5-byte varint length. */
export const snapshotPayloadOverheadBytesMax = 17;

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  return concatBytes([varintField(1, snapshot.lastSlot, 'snapshot.lastSlot'), bytesField(2, snapshot.data)]);
}

// --- decoding ----------------------------------------------------------------

/** Readers by fieldKey(field number, wire type). */
type FieldReaders = Record<number, (reader: BinaryReader) => void>;

function fieldKey(field: number, wireType: WireType): number {
  return field * 8 + wireType;
}

/** Reads every field of a message with the reader registered for its number and wire type. */
function readMessage(bytes: Uint8Array, readers: FieldReaders, message: string): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    const read = readers[fieldKey(field, wireType)];
    if (!read) throw new Error(`${message} has unexpected field ${field} with wire type ${wireType}`);
    read(reader);
  }
}

/** A copy, so decoded values do not keep the whole file's buffer alive. */
function ownBytes(reader: BinaryReader): Uint8Array {
  return new Uint8Array(reader.bytes());
}

function readUint64(reader: BinaryReader): bigint {
  return BigInt(reader.uint64());
}

function decodeBallot(bytes: Uint8Array): Ballot {
  let round = 0n;
  let nodeId = '';
  readMessage(
    bytes,
    {
      [fieldKey(1, WireType.Varint)]: (reader) => (round = readUint64(reader)),
      [fieldKey(2, WireType.LengthDelimited)]: (reader) => (nodeId = reader.string(true)),
    },
    'Ballot',
  );
  return { round, nodeId };
}

function decodeAccepted(bytes: Uint8Array): AcceptedEntry {
  let slot = 0n;
  let ballot: Ballot = { round: 0n, nodeId: '' };
  let command: Uint8Array = new Uint8Array(0);
  readMessage(
    bytes,
    {
      [fieldKey(1, WireType.Varint)]: (reader) => (slot = readUint64(reader)),
      [fieldKey(2, WireType.LengthDelimited)]: (reader) => (ballot = decodeBallot(reader.bytes())),
      [fieldKey(3, WireType.LengthDelimited)]: (reader) => (command = ownBytes(reader)),
    },
    'AcceptedEntry',
  );
  return { slot, ballot, command };
}

function decodeChosen(bytes: Uint8Array): Entry {
  let slot = 0n;
  let command: Uint8Array = new Uint8Array(0);
  readMessage(
    bytes,
    {
      [fieldKey(1, WireType.Varint)]: (reader) => (slot = readUint64(reader)),
      [fieldKey(2, WireType.LengthDelimited)]: (reader) => (command = ownBytes(reader)),
    },
    'ChosenEntry',
  );
  return { slot, command };
}

/** Throws a plain Error on a malformed payload; the caller names the file and offset. */
export function decodeLogBatch(payload: Uint8Array): LogBatch {
  const batch: LogBatch = { accepted: [], chosen: [] };
  readMessage(
    payload,
    {
      [fieldKey(1, WireType.LengthDelimited)]: (reader) => (batch.promised = decodeBallot(reader.bytes())),
      [fieldKey(2, WireType.LengthDelimited)]: (reader) => batch.accepted.push(decodeAccepted(reader.bytes())),
      [fieldKey(3, WireType.LengthDelimited)]: (reader) => batch.chosen.push(decodeChosen(reader.bytes())),
      [fieldKey(4, WireType.Varint)]: (reader) => (batch.commitSlot = readUint64(reader)),
    },
    'LogRecord',
  );
  return batch;
}

export function decodeSnapshot(payload: Uint8Array): Snapshot {
  let lastSlot = 0n;
  let data: Uint8Array = new Uint8Array(0);
  readMessage(
    payload,
    {
      [fieldKey(1, WireType.Varint)]: (reader) => (lastSlot = readUint64(reader)),
      [fieldKey(2, WireType.LengthDelimited)]: (reader) => (data = ownBytes(reader)),
    },
    'SnapshotRecord',
  );
  return { lastSlot, data };
}

/** Everything in a durable state but its snapshot, as one batch that rebuilds it when replayed after the snapshot. */
export function logBatchOf(state: DurableState): LogBatch {
  return { promised: state.promised, accepted: state.accepted, chosen: state.chosen, commitSlot: state.commitSlot };
}

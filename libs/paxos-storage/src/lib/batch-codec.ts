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
//   ChosenEntry    { uint64 slot = 1; oneof value { bytes command = 2; bool same_as_accepted = 3; } }
//   SnapshotRecord { uint64 last_slot = 1; bytes data = 2; }
//
// promised and commit_slot are written only when the batch sets them: their
// presence, not a zero value, is what a replay applies.
//
// The Paxos core persists a slot's command when it accepts it and again when
// it learns it chosen. A chosen entry whose command equals the one accepted
// for its slot at that point of the log (in the same record or an earlier
// one) is written as same_as_accepted = true instead of the bytes again, so
// each command is on disk once. Values learned some other way (catch-up, a
// different ballot's value) keep their bytes. A format version 1 WAL,
// written before same_as_accepted existed, is decoded with it refused.
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { concatBytes } from '@bulwark/durable-log';
import { InvalidArgumentError } from '@bulwark/errors';
import {
  bytesEqual,
  type AcceptedEntry,
  type Ballot,
  type DurableState,
  type Entry,
  type PersistBatch,
  type Snapshot,
} from '@bulwark/paxos';
import { AcceptedCommands } from './accepted-commands';

/** A persist batch as one WAL record holds it: snapshots live in their own file. */
export type LogBatch = Omit<PersistBatch, 'snapshot'>;

/** A chosen entry stored without its command: it is the command accepted for its slot at this point of the log. */
export interface ChosenAsAccepted {
  slot: bigint;
  sameAsAccepted: true;
}

/** A LogBatch as a record stores it, before its chosen references are resolved. */
export type StoredLogBatch = Omit<LogBatch, 'chosen'> & { chosen: (Entry | ChosenAsAccepted)[] };

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

const sameAsAcceptedField = new BinaryWriter().tag(3, WireType.Varint).bool(true).finish();

function encodeChosen(entry: Entry, acceptedCommand: Uint8Array | undefined): Uint8Array {
  const slot = varintField(1, entry.slot, 'chosen.slot');
  const isAccepted = acceptedCommand !== undefined && bytesEqual(acceptedCommand, entry.command);
  return concatBytes([slot, isAccepted ? sameAsAcceptedField : bytesField(2, entry.command)]);
}

/**
 * The batch as a list of encoded top-level fields, chosen entries referring
 * to `acceptedBefore` (the accepted commands before this batch) where they
 * can. Concatenated in order, into one record or several that follow each
 * other, they are a valid LogRecord.
 */
function batchFields(batch: LogBatch, acceptedBefore: AcceptedCommands): Uint8Array[] {
  const fields: Uint8Array[] = [];
  const acceptedCommandOf = acceptedBefore.lookupWith(batch.accepted);
  if (batch.promised) fields.push(bytesField(1, encodeBallot(batch.promised, 'promised')));
  for (const entry of batch.accepted) fields.push(bytesField(2, encodeAccepted(entry)));
  for (const entry of batch.chosen) fields.push(bytesField(3, encodeChosen(entry, acceptedCommandOf(entry.slot))));
  if (batch.commitSlot !== undefined) fields.push(varintField(4, batch.commitSlot, 'commitSlot'));
  return fields;
}

/**
 * One record's payload: the whole batch, so a crash keeps all of it or none.
 * `acceptedBefore` must be what the records before it leave accepted.
 */
export function encodeLogBatch(batch: LogBatch, acceptedBefore: AcceptedCommands): Uint8Array {
  return concatBytes(batchFields(batch, acceptedBefore));
}

/**
 * Payloads of at most payloadBytesMax bytes each that, replayed in order
 * into an empty WAL, apply the same changes as the batch. For rewriting a
 * whole WAL, where the file is renamed into place at once and so needs no
 * single-record atomicity.
 */
export function encodeLogBatchInPieces(batch: LogBatch, payloadBytesMax: number): Uint8Array[] {
  const pieces: Uint8Array[][] = [[]];
  let pieceBytes = 0;
  // Every field fits in a piece alone: it came in a batch whose whole payload was within the limit (a chosen
  // command written in full here but as a reference then is smaller than the accepted field it referred to).
  for (const field of batchFields(batch, new AcceptedCommands())) {
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

function decodeChosen(bytes: Uint8Array, sameAsAcceptedReadable: boolean): Entry | ChosenAsAccepted {
  let slot = 0n;
  let command: Uint8Array | undefined;
  let sameAsAccepted: number | undefined;
  const readers: FieldReaders = {
    [fieldKey(1, WireType.Varint)]: (reader) => (slot = readUint64(reader)),
    [fieldKey(2, WireType.LengthDelimited)]: (reader) => (command = ownBytes(reader)),
  };
  if (sameAsAcceptedReadable) readers[fieldKey(3, WireType.Varint)] = (reader) => (sameAsAccepted = reader.uint32());
  readMessage(bytes, readers, 'ChosenEntry');
  // The writer sets exactly one of the two, and same_as_accepted only to true (1).
  if (sameAsAccepted === 1 && command === undefined) return { slot, sameAsAccepted: true };
  if (sameAsAccepted === undefined && command !== undefined) return { slot, command };
  throw new Error(`ChosenEntry for slot ${slot} must hold exactly one of command and same_as_accepted = true`);
}

/**
 * Throws a plain Error on a malformed payload; the caller names the file and
 * offset. `sameAsAcceptedReadable` is false for a format that had no chosen
 * references, so one there is refused like any unknown field.
 */
export function decodeLogBatch(payload: Uint8Array, sameAsAcceptedReadable: boolean): StoredLogBatch {
  const batch: StoredLogBatch = { accepted: [], chosen: [] };
  readMessage(
    payload,
    {
      [fieldKey(1, WireType.LengthDelimited)]: (reader) => (batch.promised = decodeBallot(reader.bytes())),
      [fieldKey(2, WireType.LengthDelimited)]: (reader) => batch.accepted.push(decodeAccepted(reader.bytes())),
      [fieldKey(3, WireType.LengthDelimited)]: (reader) =>
        batch.chosen.push(decodeChosen(reader.bytes(), sameAsAcceptedReadable)),
      [fieldKey(4, WireType.Varint)]: (reader) => (batch.commitSlot = readUint64(reader)),
    },
    'LogRecord',
  );
  return batch;
}

/**
 * The batch with each chosen reference replaced by the command it names,
 * looked up in this record's accepted entries, then in `acceptedBefore`
 * (what the records before it left accepted). Throws a plain Error for a
 * reference to a slot with no accepted command: this code never writes one.
 */
export function resolveChosen(stored: StoredLogBatch, acceptedBefore: AcceptedCommands): LogBatch {
  const acceptedCommandOf = acceptedBefore.lookupWith(stored.accepted);
  const chosen = stored.chosen.map((entry): Entry => {
    if (!('sameAsAccepted' in entry)) return entry;
    const command = acceptedCommandOf(entry.slot);
    if (command === undefined) {
      throw new Error(
        `chosen entry for slot ${entry.slot} is stored as the accepted value, but no accepted value for slot ${entry.slot} precedes it in the log`,
      );
    }
    return { slot: entry.slot, command };
  });
  return { ...stored, chosen };
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

// Building outcomes (frozen, so the one the dedupe table keeps cannot be
// changed by a caller) and their compact binary form in snapshots: no
// values and no keys, fixed 64-bit numbers.
import type { ChunkReader, ChunkWriter } from './byte-stream';
import { encodeUtf8 } from './byte-stream';
import { utf8Length } from './keys';
import { KvSnapshotError } from './snapshot-error';
import type {
  KeyRevision,
  NoopOutcome,
  Outcome,
  RefusalCode,
  RefusedOutcome,
  TxnOutcome,
  WrittenOutcome,
} from './types';

export const noopOutcome: NoopOutcome = Object.freeze({ kind: 'noop' });

export function refused(code: RefusalCode, field: string, message: string): RefusedOutcome {
  return Object.freeze({ kind: 'refused', code, field, message });
}

export function written(
  succeeded: boolean,
  version: bigint,
  modSequence: bigint,
  previous?: KeyRevision,
): WrittenOutcome {
  return Object.freeze(
    previous
      ? { kind: 'written', succeeded, version, modSequence, previous: Object.freeze({ ...previous }) }
      : { kind: 'written', succeeded, version, modSequence },
  );
}

export function txn(succeeded: boolean, results: WrittenOutcome[]): TxnOutcome {
  return Object.freeze({ kind: 'txn', succeeded, results: Object.freeze(results) });
}

const tags = { written: 1, txn: 2, noop: 3, refused: 4 } as const;
const refusalCodes: readonly RefusalCode[] = ['failed-precondition', 'resource-exhausted', 'invalid-argument'];
const succeededFlag = 1;
const previousFlag = 2;
/** Refusal fields and messages are ours and short; a bound keeps a corrupt length from allocating much. */
const refusalTextBytesMax = 4096;

/** The bytes `encodeOutcome` writes for `outcome`, without encoding it. */
export function encodedOutcomeBytes(outcome: Outcome): number {
  switch (outcome.kind) {
    case 'written':
      return 1 + writtenBodyBytes(outcome);
    case 'txn':
      return 1 + 1 + 4 + outcome.results.reduce((sum, result) => sum + writtenBodyBytes(result), 0);
    case 'noop':
      return 1;
    case 'refused':
      return 1 + 1 + 2 + utf8Length(outcome.field) + 2 + utf8Length(outcome.message);
  }
}

function writtenBodyBytes(outcome: WrittenOutcome): number {
  return outcome.previous ? 1 + 32 : 1 + 16;
}

export function encodeOutcome(out: ChunkWriter, outcome: Outcome): void {
  out.u8(tags[outcome.kind]);
  switch (outcome.kind) {
    case 'written':
      encodeWrittenBody(out, outcome);
      return;
    case 'txn':
      out.u8(outcome.succeeded ? 1 : 0);
      out.u32(outcome.results.length);
      for (const result of outcome.results) encodeWrittenBody(out, result);
      return;
    case 'noop':
      return;
    case 'refused': {
      out.u8(refusalCodes.indexOf(outcome.code) + 1);
      const field = encodeUtf8(outcome.field);
      const message = encodeUtf8(outcome.message);
      out.u16(field.length);
      out.bytes(field);
      out.u16(message.length);
      out.bytes(message);
      return;
    }
  }
}

function encodeWrittenBody(out: ChunkWriter, outcome: WrittenOutcome): void {
  out.u8((outcome.succeeded ? succeededFlag : 0) | (outcome.previous ? previousFlag : 0));
  out.u64(outcome.version);
  out.u64(outcome.modSequence);
  if (outcome.previous) {
    out.u64(outcome.previous.version);
    out.u64(outcome.previous.modSequence);
  }
}

/** Reads one outcome; `resultsMax` bounds a transaction's results. Throws KvSnapshotError on anything malformed. */
export function decodeOutcome(input: ChunkReader, what: string, resultsMax: number): Outcome {
  const at = input.position;
  const tag = input.u8(what);
  switch (tag) {
    case tags.written:
      return decodeWrittenBody(input, what);
    case tags.txn: {
      const succeeded = decodeBoolean(input, `${what} succeeded`);
      const count = input.u32(`${what} result count`);
      if (count > resultsMax) {
        throw new KvSnapshotError(`${what} at byte ${at} has ${count} results, over txnOpsMax ${resultsMax}`);
      }
      const results: WrittenOutcome[] = [];
      for (let index = 0; index < count; index++) results.push(decodeWrittenBody(input, `${what} result ${index}`));
      return txn(succeeded, results);
    }
    case tags.noop:
      return noopOutcome;
    case tags.refused: {
      const code = refusalCodes[input.u8(`${what} code`) - 1];
      if (code === undefined) throw new KvSnapshotError(`${what} at byte ${at} has an unknown refusal code`);
      const field = decodeText(input, `${what} field`);
      const message = decodeText(input, `${what} message`);
      return refused(code, field, message);
    }
    default:
      throw new KvSnapshotError(`${what} at byte ${at} has an unknown kind ${tag}`);
  }
}

function decodeWrittenBody(input: ChunkReader, what: string): WrittenOutcome {
  const at = input.position;
  const flags = input.u8(`${what} flags`);
  if ((flags & ~(succeededFlag | previousFlag)) !== 0) {
    throw new KvSnapshotError(`${what} at byte ${at} has unknown flags ${flags}`);
  }
  const version = input.u64(`${what} version`);
  const modSequence = input.u64(`${what} mod sequence`);
  const previous =
    flags & previousFlag
      ? { version: input.u64(`${what} previous version`), modSequence: input.u64(`${what} previous mod sequence`) }
      : undefined;
  return written((flags & succeededFlag) !== 0, version, modSequence, previous);
}

function decodeBoolean(input: ChunkReader, what: string): boolean {
  const at = input.position;
  const value = input.u8(what);
  if (value > 1) throw new KvSnapshotError(`${what} at byte ${at} is ${value}, not 0 or 1`);
  return value === 1;
}

function decodeText(input: ChunkReader, what: string): string {
  const at = input.position;
  const length = input.u16(`${what} length`);
  if (length > refusalTextBytesMax) {
    throw new KvSnapshotError(`${what} at byte ${at} is ${length} bytes, over ${refusalTextBytesMax}`);
  }
  return input.text(length, what);
}

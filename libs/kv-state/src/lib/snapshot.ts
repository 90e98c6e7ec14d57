// The snapshot format: one byte stream, cut into chunks anywhere.
//
//   header   "BKVS", format u32 (1), applied sequence u64, last written
//            unix ms u64, key count u64, total bytes u64, fence count u32,
//            remembered request count u32
//   keys     ascending (code point order), each: key length u32, key UTF-8,
//            value length u32, value, version u64, create sequence u64,
//            mod sequence u64
//   fences   ascending by lock name, each: name length u32, name UTF-8,
//            highest token u64
//   requests oldest first, each: sequence u64, id length u32, id UTF-8,
//            outcome (outcomes.ts)
//   trailer  "BKVE", then FNV-1a 64 of every byte before it, u64
//
// All numbers big-endian. The same bytes for the same state on every
// member, so the trailer's hash is the state's digest. Restore checks every
// length against the limits before it allocates, every order and count, and
// the hash; it builds a new state and returns it only when all of it holds.
import BTree from 'sorted-btree';
import { ChunkReader, ChunkWriter, encodeUtf8 } from './byte-stream';
import { DedupeTable, type RememberedRequest } from './dedupe-table';
import { compareKeys, utf8Length } from './keys';
import { type KvLimits, requestIdBytesMax } from './limits';
import { decodeOutcome, encodeOutcome } from './outcomes';
import { KvSnapshotError } from './snapshot-error';
import type { KeyValue } from './types';

export const snapshotFormatVersion = 1;
/** Chunks are this size, the last one smaller; a record may span chunks. */
export const snapshotChunkBytes = 1024 * 1024;

const headerMagic = encodeUtf8('BKVS');
const trailerMagic = encodeUtf8('BKVE');

/** What a snapshot holds; `keys` and `fences` are frozen copy-on-write clones. */
export interface StateImage {
  readonly appliedSequence: bigint;
  readonly lastWrittenUnixMs: bigint;
  readonly totalBytes: number;
  readonly keys: BTree<string, KeyValue>;
  readonly fences: BTree<string, bigint>;
  readonly requests: readonly RememberedRequest[];
}

export interface RestoredParts extends Omit<StateImage, 'requests'> {
  readonly dedupe: DedupeTable;
}

export function* encodeSnapshot(image: StateImage, chunkBytes: number): Generator<Uint8Array, void, undefined> {
  const out = new ChunkWriter(chunkBytes);
  out.bytes(headerMagic);
  out.u32(snapshotFormatVersion);
  out.u64(image.appliedSequence);
  out.u64(image.lastWrittenUnixMs);
  out.u64(BigInt(image.keys.size));
  out.u64(BigInt(image.totalBytes));
  out.u32(image.fences.size);
  out.u32(image.requests.length);

  for (const kv of image.keys.values()) {
    const keyLength = utf8Length(kv.key);
    out.u32(keyLength);
    out.text(kv.key, keyLength);
    out.u32(kv.value.length);
    out.bytes(kv.value);
    out.u64(kv.version);
    out.u64(kv.createSequence);
    out.u64(kv.modSequence);
    if (out.hasFull) yield* out.takeFull();
  }
  for (const [lockName, token] of image.fences.entries()) {
    const nameLength = utf8Length(lockName);
    out.u32(nameLength);
    out.text(lockName, nameLength);
    out.u64(token);
    if (out.hasFull) yield* out.takeFull();
  }
  for (const request of image.requests) {
    const idLength = utf8Length(request.requestId);
    out.u64(request.sequence);
    out.u32(idLength);
    out.text(request.requestId, idLength);
    encodeOutcome(out, request.outcome);
    if (out.hasFull) yield* out.takeFull();
  }
  out.bytes(trailerMagic);
  out.u64(out.sealHash());
  yield* out.finish();
}

function corrupt(message: string): KvSnapshotError {
  return new KvSnapshotError(message);
}

function expectMagic(input: ChunkReader, magic: Uint8Array, what: string): void {
  const at = input.position;
  const found = input.bytes(magic.length, what);
  if (!found.every((byte, index) => byte === magic[index])) throw corrupt(`no ${what} at byte ${at}`);
}

function boundedLength(input: ChunkReader, what: string, min: number, max: number, limitName: string): number {
  const at = input.position;
  const length = input.u32(`${what} length`);
  if (length < min || length > max) {
    throw corrupt(`${what} at byte ${at} is ${length} bytes, outside ${min} to ${max} (${limitName})`);
  }
  return length;
}

export function decodeSnapshot(chunks: Iterable<Uint8Array>, limits: KvLimits): RestoredParts {
  if (chunks === null || typeof (chunks as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    throw new KvSnapshotError('chunks must be iterable');
  }
  const input = new ChunkReader(chunks[Symbol.iterator]());
  expectMagic(input, headerMagic, 'header magic "BKVS"');
  const format = input.u32('format version');
  if (format !== snapshotFormatVersion) {
    throw corrupt(`format version ${format} is not supported (this build reads ${snapshotFormatVersion})`);
  }
  const appliedSequence = input.u64('applied sequence');
  const lastWrittenUnixMs = input.u64('last written unix ms');
  const keyCount = input.u64('key count');
  const totalBytes = input.u64('total bytes');
  const fenceCount = input.u32('fence count');
  const requestCount = input.u32('request count');
  if (totalBytes > BigInt(limits.totalBytesMax)) {
    throw corrupt(`holds ${totalBytes} bytes of keys and values, over totalBytesMax ${limits.totalBytesMax}`);
  }
  // Every key takes at least one byte, so this also bounds the count.
  if (keyCount > totalBytes) throw corrupt(`key count ${keyCount} is above total bytes ${totalBytes}`);
  if (fenceCount > limits.fenceNamesMax) {
    throw corrupt(`holds ${fenceCount} lock names, over fenceNamesMax ${limits.fenceNamesMax}`);
  }
  if (requestCount > limits.dedupeEntriesMax) {
    throw corrupt(`holds ${requestCount} request ids, over dedupeEntriesMax ${limits.dedupeEntriesMax}`);
  }

  const keys = new BTree<string, KeyValue>(undefined, compareKeys);
  let bytesSeen = 0;
  let previousKey: string | undefined;
  for (let index = 0; index < Number(keyCount); index++) {
    const what = `key ${index}`;
    const at = input.position;
    const key = input.text(boundedLength(input, what, 1, limits.keyBytesMax, 'keyBytesMax'), what);
    if (previousKey !== undefined && compareKeys(previousKey, key) >= 0) {
      throw corrupt(`${what} at byte ${at} is not after the key before it`);
    }
    previousKey = key;
    const value = input.bytes(boundedLength(input, `${what} value`, 0, limits.valueBytesMax, 'valueBytesMax'), what);
    const version = input.u64(`${what} version`);
    const createSequence = input.u64(`${what} create sequence`);
    const modSequence = input.u64(`${what} mod sequence`);
    if (version < 1n || createSequence < 1n || createSequence > modSequence || modSequence > appliedSequence) {
      throw corrupt(
        `${what} at byte ${at} has version ${version}, create sequence ${createSequence} and mod sequence ` +
          `${modSequence}: want version >= 1 and 1 <= create <= mod <= applied sequence ${appliedSequence}`,
      );
    }
    bytesSeen += utf8Length(key) + value.length;
    keys.set(key, Object.freeze({ key, value, version, createSequence, modSequence }));
  }
  if (BigInt(bytesSeen) !== totalBytes) throw corrupt(`keys hold ${bytesSeen} bytes, the header says ${totalBytes}`);

  const fences = new BTree<string, bigint>(undefined, compareKeys);
  let previousName: string | undefined;
  for (let index = 0; index < fenceCount; index++) {
    const what = `lock name ${index}`;
    const at = input.position;
    const name = input.text(boundedLength(input, what, 1, limits.lockNameBytesMax, 'lockNameBytesMax'), what);
    if (previousName !== undefined && compareKeys(previousName, name) >= 0) {
      throw corrupt(`${what} at byte ${at} is not after the name before it`);
    }
    previousName = name;
    fences.set(name, input.u64(`${what} token`));
  }

  const dedupe = new DedupeTable(limits.dedupeEntriesMax, limits.dedupeBytesMax);
  let previousSequence = 0n;
  for (let index = 0; index < requestCount; index++) {
    const what = `request ${index}`;
    const at = input.position;
    const sequence = input.u64(`${what} sequence`);
    if (sequence <= previousSequence || sequence > appliedSequence) {
      throw corrupt(
        `${what} at byte ${at} has sequence ${sequence}: want above ${previousSequence} and at most ${appliedSequence}`,
      );
    }
    previousSequence = sequence;
    const requestId = input.text(boundedLength(input, `${what} id`, 1, requestIdBytesMax, 'request id'), what);
    if (dedupe.get(requestId)) throw corrupt(`${what} at byte ${at} repeats an earlier request id`);
    dedupe.remember({ requestId, sequence, outcome: decodeOutcome(input, `${what} outcome`, limits.txnOpsMax) });
  }
  if (dedupe.size !== requestCount) {
    throw corrupt(`its ${requestCount} request ids are over dedupeBytesMax ${limits.dedupeBytesMax}`);
  }

  expectMagic(input, trailerMagic, 'trailer magic "BKVE"');
  const computed = input.sealHash();
  const recorded = input.u64('digest');
  if (computed !== recorded) {
    throw corrupt(`digest mismatch: the bytes hash to ${hex(computed)}, the trailer says ${hex(recorded)}`);
  }
  if (!input.atEnd()) throw corrupt(`unexpected bytes after the trailer at byte ${input.position}`);
  return { appliedSequence, lastWrittenUnixMs, totalBytes: Number(totalBytes), keys, fences, dedupe };
}

export function hex(digest: bigint): string {
  return digest.toString(16).padStart(16, '0');
}

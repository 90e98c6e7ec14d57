// The deterministic key-value state machine of a replica group. Every member
// applies the group log's committed entries in sequence order and must end
// with the same keys and give the same outcomes, so apply depends on nothing
// but the entry, the state and the limits: no clock, no randomness, no I/O.
// Keys live in a B+ tree (sorted-btree) ordered by code point, whose O(1)
// copy-on-write clone lets a snapshot be written while apply goes on, and in
// a Map beside it for point lookups: a Map get is about ten times faster
// than the tree's, and every write looks its key up first.
import BTree from 'sorted-btree';
import { checkCommand, checkRequestId, isUint64 } from './command-checks';
import { DedupeTable, type RememberedRequest } from './dedupe-table';
import { compareKeys, utf8Length } from './keys';
import { type KvLimits, kvLimits, uint64Max } from './limits';
import { noopOutcome, refused, txn, written } from './outcomes';
import { decodeSnapshot, encodeSnapshot, snapshotChunkBytes, type StateImage } from './snapshot';
import type {
  Command,
  Compare,
  Fence,
  KeyValue,
  Op,
  Outcome,
  RefusedOutcome,
  ScanPage,
  ScanRequest,
  WrittenOutcome,
} from './types';

interface Parts {
  readonly appliedSequence: bigint;
  readonly lastWrittenUnixMs: bigint;
  readonly totalBytes: number;
  readonly keys: BTree<string, KeyValue>;
  readonly fences: BTree<string, bigint>;
  readonly dedupe: DedupeTable;
}

export class KvState {
  readonly limits: KvLimits;
  private keys: BTree<string, KeyValue>;
  /** The same entries as `keys`, for lookups by key. */
  private byKey: Map<string, KeyValue>;
  private fences: BTree<string, bigint>;
  private dedupe: DedupeTable;
  private applied: bigint;
  private writtenUnixMs: bigint;
  private bytes: number;

  /** An empty state (applied sequence 0) with the defaults overridden by `limits`. */
  constructor(limits: Partial<KvLimits> = {}) {
    this.limits = kvLimits(limits);
    this.keys = new BTree<string, KeyValue>(undefined, compareKeys);
    this.byKey = new Map();
    this.fences = new BTree<string, bigint>(undefined, compareKeys);
    this.dedupe = new DedupeTable(this.limits.dedupeEntriesMax, this.limits.dedupeBytesMax);
    this.applied = 0n;
    this.writtenUnixMs = 0n;
    this.bytes = 0;
  }

  /**
   * The state `snapshotChunks()` wrote, read from its chunks (cut anywhere).
   * Throws KvSnapshotError naming what is wrong (truncated, corrupt, over
   * `limits`) and then returns nothing: there is never a partial state.
   */
  static restore(chunks: Iterable<Uint8Array>, limits: Partial<KvLimits> = {}): KvState {
    const state = new KvState(limits);
    state.install(decodeSnapshot(chunks, state.limits));
    return state;
  }

  /** The sequence of the last entry applied; 0 before any. */
  get appliedSequence(): bigint {
    return this.applied;
  }

  /** The primary's clock stamp of the last entry applied (0 before any): how fresh this state is, for bounded reads. */
  get lastWrittenUnixMs(): bigint {
    return this.writtenUnixMs;
  }

  get keyCount(): number {
    return this.keys.size;
  }

  /** UTF-8 key bytes plus value bytes of every live key, bounded by `totalBytesMax`. */
  get totalBytes(): number {
    return this.bytes;
  }

  /** Lock names with a fencing token on record. */
  get fenceNameCount(): number {
    return this.fences.size;
  }

  /** Request ids whose first outcome is remembered. */
  get rememberedRequestCount(): number {
    return this.dedupe.size;
  }

  get(key: string): KeyValue | undefined {
    return this.byKey.get(key);
  }

  /** The highest fencing token applied for `lockName`, if any write carried one. */
  highestFence(lockName: string): bigint | undefined {
    return this.fences.get(lockName);
  }

  /**
   * The first outcome of `requestId` and the sequence that gave it, if it is
   * still remembered: a primary can answer a retry without a new entry.
   */
  remembered(requestId: string): RememberedRequest | undefined {
    return requestId === '' ? undefined : this.dedupe.get(requestId);
  }

  /**
   * One page of keys in ascending order: those in [startKey, endKey) that
   * start with `prefix`, at most `limit`. Throws RangeError on a limit
   * outside 1..scanLimitMax (a caller's bug: reads are not replicated).
   */
  scan(request: ScanRequest): ScanPage {
    const { prefix = '', startKey = '', endKey, limit } = request;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > this.limits.scanLimitMax) {
      throw new RangeError(`limit must be 1 to ${this.limits.scanLimitMax}, got ${limit}`);
    }
    // Keys with a prefix are contiguous in code point order, starting at the prefix itself.
    const from = compareKeys(startKey, prefix) > 0 ? startKey : prefix;
    const kvs: KeyValue[] = [];
    for (const kv of this.keys.values(from)) {
      if (!kv.key.startsWith(prefix) || (endKey !== undefined && compareKeys(kv.key, endKey) >= 0)) break;
      if (kvs.length === limit) return { kvs, nextStartKey: kv.key };
      kvs.push(kv);
    }
    return { kvs };
  }

  /**
   * Applies the entry at `sequence` and returns its outcome: the same on
   * every member. Sequences must strictly increase (RangeError otherwise:
   * the caller's bug). Nothing about the entry throws: a malformed or
   * over-limit entry is refused, changing nothing but the applied sequence.
   */
  apply(sequence: bigint, command: Command): Outcome {
    if (typeof sequence !== 'bigint' || sequence <= this.applied || sequence > uint64Max) {
      throw new RangeError(`sequence must be above the applied ${this.applied} and below 2^64, got ${sequence}`);
    }
    // The stamp says how fresh the state is, whatever the entry's outcome.
    const stamp = (command as Partial<Command> | null)?.writtenUnixMs;
    if (isUint64(stamp)) this.writtenUnixMs = stamp;
    const outcome = this.decide(sequence, command);
    this.applied = sequence;
    return outcome;
  }

  /**
   * The state as snapshot chunks of about `chunkBytes` (a record may span
   * two): a frozen copy-on-write clone taken now, so apply may go on while
   * the caller writes them. Iterable more than once, always the same bytes.
   */
  snapshotChunks(chunkBytes = snapshotChunkBytes): Iterable<Uint8Array> {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 16) {
      throw new RangeError(`chunkBytes must be an integer of at least 16, got ${chunkBytes}`);
    }
    const image = this.image();
    return { [Symbol.iterator]: () => encodeSnapshot(image, chunkBytes) };
  }

  /**
   * FNV-1a 64 of the state's snapshot bytes (keys, values, versions,
   * sequences, fences, remembered requests): equal on members that
   * converged. It encodes the whole state: O(size), about a snapshot's cost.
   */
  digest(): bigint {
    let tail: Uint8Array = new Uint8Array(0);
    for (const chunk of this.snapshotChunks()) {
      tail = chunk.length >= 8 ? chunk : concat(tail, chunk);
    }
    return new DataView(tail.buffer, tail.byteOffset + tail.length - 8, 8).getBigUint64(0);
  }

  private image(): StateImage {
    const keys = this.keys.clone();
    keys.freeze();
    const fences = this.fences.clone();
    fences.freeze();
    return {
      appliedSequence: this.applied,
      lastWrittenUnixMs: this.writtenUnixMs,
      totalBytes: this.bytes,
      keys,
      fences,
      requests: this.dedupe.list(),
    };
  }

  private install(parts: Parts): void {
    this.keys = parts.keys;
    this.byKey = new Map();
    for (const kv of parts.keys.values()) this.byKey.set(kv.key, kv);
    this.fences = parts.fences;
    this.dedupe = parts.dedupe;
    this.applied = parts.appliedSequence;
    this.writtenUnixMs = parts.lastWrittenUnixMs;
    this.bytes = parts.totalBytes;
  }

  private decide(sequence: bigint, command: Command): Outcome {
    if (typeof command !== 'object' || command === null) {
      return refused('invalid-argument', 'command', 'must be an object');
    }
    const idError = checkRequestId(command.requestId);
    if (idError) return idError;
    const { requestId } = command;
    if (requestId !== '') {
      const first = this.dedupe.get(requestId);
      if (first) return first.outcome;
    }
    const outcome = this.decideNew(sequence, command);
    if (requestId !== '') this.dedupe.remember({ requestId, sequence, outcome });
    return outcome;
  }

  private decideNew(sequence: bigint, command: Command): Outcome {
    const formError = checkCommand(command, this.limits);
    if (formError) return formError;
    const { fence, body } = command;
    const fenceError = fence && this.checkFence(fence);
    if (fenceError) return fenceError;
    let outcome: Outcome;
    switch (body.type) {
      case 'noop':
        outcome = noopOutcome;
        break;
      case 'op': {
        const result = this.writeAll([body.op], sequence, '');
        outcome = Array.isArray(result) ? (result[0] as WrittenOutcome) : result;
        break;
      }
      case 'txn': {
        const succeeded = body.compares.every((compare) => this.holds(compare));
        const branch = succeeded ? 'success' : 'failure';
        const result = this.writeAll(succeeded ? body.success : body.failure, sequence, `txn.${branch}`);
        outcome = Array.isArray(result) ? txn(succeeded, result) : result;
        break;
      }
    }
    // Raised by every entry the fence let through that was not refused,
    // also when a compare failed: see the README, "Fencing".
    if (fence && outcome.kind !== 'refused') this.fences.set(fence.lockName, fence.token);
    return outcome;
  }

  private checkFence({ lockName, token }: Fence): RefusedOutcome | undefined {
    const highest = this.fences.get(lockName);
    if (highest === undefined) {
      if (this.fences.size < this.limits.fenceNamesMax) return undefined;
      return refused(
        'resource-exhausted',
        'fence.lock_name',
        `a new lock name would be over fenceNamesMax ${this.limits.fenceNamesMax} (fences are never evicted)`,
      );
    }
    if (token >= highest) return undefined;
    return refused(
      'failed-precondition',
      'fence.token',
      `token ${token} is below ${highest}, already applied for the lock`,
    );
  }

  private holds(compare: Compare): boolean {
    const current = this.byKey.get(compare.key);
    if (compare.target === 'value') {
      // etcd: a value compare on an absent key fails, whatever the op.
      if (!current) return false;
      return sameBytes(current.value, compare.value) === (compare.op === 'eq');
    }
    const version = current?.version ?? 0n;
    switch (compare.op) {
      case 'eq':
        return version === compare.version;
      case 'ne':
        return version !== compare.version;
      case 'lt':
        return version < compare.version;
      case 'gt':
        return version > compare.version;
    }
  }

  /**
   * Runs `ops` (distinct keys, checked) in order, all or none: the byte
   * bound is checked for the whole batch before anything is written, and
   * nothing after that can fail. `fieldPrefix` names a transaction branch.
   */
  private writeAll(ops: readonly Op[], sequence: bigint, fieldPrefix: string): WrittenOutcome[] | RefusedOutcome {
    const currents: (KeyValue | undefined)[] = [];
    const keyBytes: number[] = [];
    let total = this.bytes;
    let overAt = -1;
    for (let index = 0; index < ops.length; index++) {
      const op = ops[index] as Op;
      const current = this.byKey.get(op.key);
      const bytes = utf8Length(op.key);
      currents.push(current);
      keyBytes.push(bytes);
      if (op.expectedVersion !== undefined && op.expectedVersion !== (current?.version ?? 0n)) continue;
      if (current) total -= bytes + current.value.length;
      if (op.type === 'put') total += bytes + op.value.length;
      if (overAt < 0 && total > this.limits.totalBytesMax) overAt = index;
    }
    // The state is never over the bound (restore checks it too), so a batch ending over it grew it.
    if (total > this.limits.totalBytesMax) {
      const field = fieldPrefix === '' ? 'value' : `${fieldPrefix}[${overAt}].value`;
      return refused(
        'resource-exhausted',
        field,
        `the write would make keys and values ${total} bytes, over totalBytesMax ${this.limits.totalBytesMax}`,
      );
    }
    return ops.map((op, index) => this.write(op, currents[index], keyBytes[index] as number, sequence));
  }

  private write(op: Op, current: KeyValue | undefined, keyBytes: number, sequence: bigint): WrittenOutcome {
    if (op.expectedVersion !== undefined && op.expectedVersion !== (current?.version ?? 0n)) {
      return current ? written(false, current.version, current.modSequence) : written(false, 0n, 0n);
    }
    const previous = current && { version: current.version, modSequence: current.modSequence };
    if (current) this.bytes -= keyBytes + current.value.length;
    if (op.type === 'delete') {
      if (current) {
        this.keys.delete(op.key);
        this.byKey.delete(op.key);
      }
      return written(true, 0n, 0n, previous);
    }
    // A copy: the caller's array could change after apply, and members must not.
    const value = new Uint8Array(op.value);
    const next: KeyValue = Object.freeze({
      key: op.key,
      value,
      version: current ? current.version + 1n : 1n,
      createSequence: current ? current.createSequence : sequence,
      modSequence: sequence,
    });
    this.keys.set(op.key, next);
    this.byKey.set(op.key, next);
    this.bytes += keyBytes + value.length;
    return written(true, next.version, sequence, previous);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

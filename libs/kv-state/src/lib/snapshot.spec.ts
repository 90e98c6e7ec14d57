import { KvState } from './kv-state';
import { KvSnapshotError } from './snapshot-error';
import { snapshotChunkBytes } from './snapshot';
import type { KvLimits } from './limits';
import { del, put, putOp, txn, versionIs } from '../testing';

/** A small state with every part a snapshot carries: keys, a deleted key, fences, remembered requests of each kind. */
function smallState(limits: Partial<KvLimits> = {}): KvState {
  const state = new KvState(limits);
  const entries = [
    put('a', 'x'),
    put('a', 'y', { requestId: 'r-written' }),
    put('\u{1f600}', 'smile', { fence: { lockName: 'lock-1', token: 7n } }),
    put('gone', 'soon'),
    del('gone', { requestId: 'r-deleted' }),
    txn([versionIs('a', 'eq', 2n)], [putOp('b', ''), putOp('c', 'z')], [], { requestId: 'r-txn' }),
    put('', 'x', { requestId: 'r-refused' }),
    put('a', 'x', { requestId: 'r-cas', expectedVersion: 9n, fence: { lockName: 'lock-0', token: 1n } }),
  ];
  entries.forEach((entry, index) => state.apply(BigInt(2 * index + 1), entry));
  return state;
}

function joined(chunks: Iterable<Uint8Array>): Uint8Array {
  const list = [...chunks];
  const all = new Uint8Array(list.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of list) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

/** The same bytes cut into pieces of `size`. */
function recut(all: Uint8Array, size: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < all.length; at += size) pieces.push(all.slice(at, at + size));
  return pieces;
}

/** What an observer can read from a state, for comparing two. */
function observe(state: KvState) {
  return {
    kvs: state.scan({ limit: 1000 }).kvs,
    appliedSequence: state.appliedSequence,
    lastWrittenUnixMs: state.lastWrittenUnixMs,
    totalBytes: state.totalBytes,
    fences: ['lock-0', 'lock-1'].map((name) => state.highestFence(name)),
    remembered: ['r-written', 'r-deleted', 'r-txn', 'r-refused', 'r-cas'].map((id) => state.remembered(id)),
    digest: state.digest(),
  };
}

describe('snapshot and restore', () => {
  it('rebuild an equal state: keys, sequences, fences, remembered outcomes and digest', () => {
    const state = smallState();
    const restored = KvState.restore(state.snapshotChunks());
    expect(observe(restored)).toEqual(observe(state));
    expect(restored.keyCount).toBe(4);
    expect(restored.rememberedRequestCount).toBe(5);
    // The restored state goes on as the original does.
    const next = [
      put('a', 'w', { requestId: 'r-written' }),
      put('\u{1f600}', 'x', { fence: { lockName: 'lock-1', token: 6n } }),
    ];
    expect(next.map((entry, index) => restored.apply(100n + BigInt(index), entry))).toEqual(
      next.map((entry, index) => state.apply(100n + BigInt(index), entry)),
    );
    expect(restored.digest()).toBe(state.digest());
  });

  it('restore an empty state', () => {
    const restored = KvState.restore(new KvState().snapshotChunks());
    expect(restored.appliedSequence).toBe(0n);
    expect(restored.digest()).toBe(new KvState().digest());
  });

  it('read the stream however it is cut, including empty chunks', () => {
    const state = smallState();
    const all = joined(state.snapshotChunks());
    for (const size of [1, 3, 7, 64, all.length]) {
      expect(KvState.restore(recut(all, size)).digest()).toBe(state.digest());
    }
    const withEmpties = recut(all, 5).flatMap((piece) => [new Uint8Array(0), piece]);
    expect(KvState.restore([...withEmpties, new Uint8Array(0)]).digest()).toBe(state.digest());
    // The writer's own chunking at its smallest size.
    expect(KvState.restore(state.snapshotChunks(16)).digest()).toBe(state.digest());
    expect(() => state.snapshotChunks(15)).toThrow(RangeError);
  });

  it('cut chunks at snapshotChunkBytes, with 1 MiB values spanning chunks', () => {
    const state = new KvState();
    const big = new Uint8Array(1024 * 1024).map((_, index) => index % 251);
    for (let index = 0; index < 3; index++) state.apply(BigInt(index + 1), put(`big-${index}`, big));
    const chunks = [...state.snapshotChunks()];
    expect(chunks.length).toBe(4);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBe(snapshotChunkBytes);
    const restored = KvState.restore(chunks);
    expect(restored.get('big-1')?.value).toEqual(big);
    expect(restored.totalBytes).toBe(3 * (5 + big.length));
  });

  it('are taken when snapshotChunks is called: apply may go on while the chunks are written', () => {
    const state = smallState();
    const before = state.digest();
    const snapshot = state.snapshotChunks(32);
    const iterator = snapshot[Symbol.iterator]();
    const first = iterator.next();
    // Writes between the call and the first chunk, and between chunks, are not in it.
    state.apply(1000n, put('a', 'changed'));
    state.apply(1001n, del('b'));
    state.apply(1002n, put('new', 'key', { requestId: 'r-new', fence: { lockName: 'lock-9', token: 1n } }));
    const rest: Uint8Array[] = [];
    for (let next = iterator.next(); !next.done; next = iterator.next()) rest.push(next.value);
    const restored = KvState.restore([first.value as Uint8Array, ...rest]);
    expect(restored.digest()).toBe(before);
    expect(restored.get('new')).toBeUndefined();
    expect(restored.get('a')?.version).toBe(2n);
    // Iterable again, with the same bytes, and the live state moved on.
    expect(joined(snapshot)).toEqual(joined([first.value as Uint8Array, ...rest]));
    expect(state.get('new')).toBeDefined();
    expect(state.digest()).not.toBe(before);
  });

  it('keep the restored state independent of the chunks it was read from', () => {
    const state = smallState();
    const chunks = [...state.snapshotChunks()].map((chunk) => chunk.slice());
    const restored = KvState.restore(chunks);
    for (const chunk of chunks) chunk.fill(0);
    expect(restored.digest()).toBe(state.digest());
  });
});

describe('restore refuses damaged snapshots', () => {
  const state = smallState();
  const all = joined(state.snapshotChunks());

  function restoreError(input: Iterable<Uint8Array>, limits: Partial<KvLimits> = {}): KvSnapshotError {
    try {
      KvState.restore(input, limits);
    } catch (error) {
      expect(error).toBeInstanceOf(KvSnapshotError);
      return error as KvSnapshotError;
    }
    throw new Error('restore accepted the snapshot');
  }

  it('with any single byte changed', () => {
    for (let at = 0; at < all.length; at++) {
      const damaged = all.slice();
      damaged[at] = (damaged[at] as number) ^ 0x41;
      restoreError([damaged]);
    }
  });

  it('cut short anywhere, saying it is truncated', () => {
    for (let length = 0; length < all.length; length++) {
      expect(restoreError(recut(all.subarray(0, length), 9)).message).toMatch(/truncated/);
    }
    expect(restoreError([]).message).toBe('kv snapshot: truncated: header magic "BKVS" needs 4 more bytes at byte 0');
  });

  it('with bytes after the trailer', () => {
    const longer = new Uint8Array(all.length + 1);
    longer.set(all);
    expect(restoreError([longer]).message).toMatch(/unexpected bytes after the trailer/);
  });

  it('naming what is wrong', () => {
    const withByte = (at: number, value: number) => {
      const damaged = all.slice();
      damaged[at] = value;
      return [damaged];
    };
    expect(restoreError(withByte(0, 0x58)).message).toBe('kv snapshot: no header magic "BKVS" at byte 0');
    expect(restoreError(withByte(7, 2)).message).toBe(
      'kv snapshot: format version 2 is not supported (this build reads 1)',
    );
    // The first key's length (after the 48-byte header) says 200 bytes: over keyBytesMax 100.
    expect(restoreError(withByte(51, 200), { keyBytesMax: 100 }).message).toBe(
      'kv snapshot: key 0 at byte 48 is 200 bytes, outside 1 to 100 (keyBytesMax)',
    );
    const lastDigestByte = all.length - 1;
    expect(restoreError(withByte(lastDigestByte, (all[lastDigestByte] as number) ^ 1)).message).toMatch(
      /^kv snapshot: digest mismatch: the bytes hash to [0-9a-f]{16}, the trailer says [0-9a-f]{16}$/,
    );
  });

  it('that do not fit the limits it is restored with', () => {
    expect(restoreError(state.snapshotChunks(), { totalBytesMax: 10 }).message).toMatch(/over totalBytesMax 10/);
    expect(restoreError(state.snapshotChunks(), { fenceNamesMax: 1 }).message).toMatch(/over fenceNamesMax 1/);
    expect(restoreError(state.snapshotChunks(), { dedupeEntriesMax: 4 }).message).toMatch(/over dedupeEntriesMax 4/);
    expect(restoreError(state.snapshotChunks(), { dedupeBytesMax: 60 }).message).toMatch(/over dedupeBytesMax 60/);
    expect(restoreError(state.snapshotChunks(), { valueBytesMax: 4 }).message).toMatch(/valueBytesMax/);
    expect(restoreError(state.snapshotChunks(), { txnOpsMax: 1 }).message).toMatch(/over txnOpsMax 1/);
  });

  it('that are not chunks of bytes', () => {
    expect(restoreError(null as never).message).toMatch(/must be iterable/);
    expect(restoreError(['BKVS'] as never).message).toMatch(/is not a Uint8Array/);
  });
});

describe('digest', () => {
  it('differs when a key, a value, a version or a sequence differs', () => {
    const base = () => {
      const state = new KvState();
      state.apply(1n, put('a', 'x'));
      return state;
    };
    const digests = new Set<bigint>([base().digest()]);
    const variants: Array<(state: KvState) => void> = [
      (state) => state.apply(2n, put('b', 'x')),
      (state) => state.apply(2n, put('a', 'y')),
      (state) => state.apply(2n, put('a', 'x')), // same value, version 2
      (state) => state.apply(2n, txn([], [])), // same keys, later sequence
      (state) => state.apply(2n, put('a', 'x', { expectedVersion: 5n, fence: { lockName: 'l', token: 1n } })),
      (state) => state.apply(2n, put('a', 'x', { expectedVersion: 5n, requestId: 'r' })),
    ];
    for (const change of variants) {
      const state = base();
      change(state);
      digests.add(state.digest());
    }
    expect(digests.size).toBe(variants.length + 1);
  });

  it('is equal for states built by the same entries, and is the hash the snapshot ends with', () => {
    const state = smallState();
    expect(smallState().digest()).toBe(state.digest());
    const all = joined(state.snapshotChunks());
    expect(new DataView(all.buffer).getBigUint64(all.length - 8)).toBe(state.digest());
  });
});

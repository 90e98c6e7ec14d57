import { KvState } from './kv-state';
import type { Command, Outcome } from './types';
import { bytes, command, del, deleteOp, noop, put, putOp, txn, valueIs, versionIs } from '../testing';

/** Applies commands at sequences 1, 2, ... after the state's applied sequence. */
function applyAll(state: KvState, ...commands: Command[]): Outcome[] {
  return commands.map((entry) => state.apply(state.appliedSequence + 1n, entry));
}

function text(value: Uint8Array | undefined): string | undefined {
  return value && new TextDecoder().decode(value);
}

describe('KvState put and delete', () => {
  it('creates a key at version 1 with its create and mod sequence, and counts its bytes', () => {
    const state = new KvState();
    expect(state.apply(5n, put('a', 'xyz'))).toEqual({
      kind: 'written',
      succeeded: true,
      version: 1n,
      modSequence: 5n,
    });
    expect(state.get('a')).toEqual({ key: 'a', value: bytes('xyz'), version: 1n, createSequence: 5n, modSequence: 5n });
    expect(state.keyCount).toBe(1);
    expect(state.totalBytes).toBe(4);
    expect(state.appliedSequence).toBe(5n);
  });

  it('counts writes since creation, keeps the create sequence and reports the previous version', () => {
    const state = new KvState();
    applyAll(state, put('a', 'x'));
    expect(applyAll(state, put('a', 'yy'))).toEqual([
      { kind: 'written', succeeded: true, version: 2n, modSequence: 2n, previous: { version: 1n, modSequence: 1n } },
    ]);
    expect(state.get('a')).toMatchObject({ version: 2n, createSequence: 1n, modSequence: 2n });
    expect(state.totalBytes).toBe(3);
  });

  it('removes a key on delete; the next put starts again at version 1', () => {
    const state = new KvState();
    applyAll(state, put('a', 'x'), put('a', 'y'));
    expect(applyAll(state, del('a'))).toEqual([
      { kind: 'written', succeeded: true, version: 0n, modSequence: 0n, previous: { version: 2n, modSequence: 2n } },
    ]);
    expect(state.get('a')).toBeUndefined();
    expect(state.totalBytes).toBe(0);
    applyAll(state, put('a', 'z'));
    expect(state.get('a')).toMatchObject({ version: 1n, createSequence: 4n, modSequence: 4n });
  });

  it('answers a delete of an absent key as succeeded, with no previous version and nothing changed', () => {
    const state = new KvState();
    expect(applyAll(state, del('nothing'))).toEqual([
      { kind: 'written', succeeded: true, version: 0n, modSequence: 0n },
    ]);
    expect(state.keyCount).toBe(0);
  });

  it('copies the value: changing the caller array after apply changes nothing', () => {
    const state = new KvState();
    const value = bytes('abc');
    applyAll(state, put('a', value));
    value[0] = 0x7a;
    expect(text(state.get('a')?.value)).toBe('abc');
    // A Buffer's slice() shares memory: the copy must not.
    const buffer = Buffer.from('def');
    applyAll(state, put('b', buffer));
    buffer[0] = 0x7a;
    expect(text(state.get('b')?.value)).toBe('def');
  });

  it('returns frozen outcomes and key values', () => {
    const state = new KvState();
    const [outcome] = applyAll(state, put('a', 'x'), put('a', 'y'));
    expect(Object.isFrozen(outcome)).toBe(true);
    expect(Object.isFrozen(state.get('a'))).toBe(true);
  });
});

describe('KvState expected versions', () => {
  it('puts with expected version 0 only when the key is absent', () => {
    const state = new KvState();
    expect(applyAll(state, put('a', 'x', { expectedVersion: 0n }))[0]).toMatchObject({ succeeded: true, version: 1n });
    expect(applyAll(state, put('a', 'y', { expectedVersion: 0n }))).toEqual([
      { kind: 'written', succeeded: false, version: 1n, modSequence: 1n },
    ]);
    expect(text(state.get('a')?.value)).toBe('x');
  });

  it('reports the current version on a mismatch (0 when absent) and changes nothing', () => {
    const state = new KvState();
    expect(applyAll(state, put('a', 'x', { expectedVersion: 3n }))).toEqual([
      { kind: 'written', succeeded: false, version: 0n, modSequence: 0n },
    ]);
    applyAll(state, put('a', 'x'), put('a', 'y'));
    expect(applyAll(state, del('a', { expectedVersion: 1n }))).toEqual([
      { kind: 'written', succeeded: false, version: 2n, modSequence: 3n },
    ]);
    expect(state.get('a')).toMatchObject({ version: 2n });
    expect(applyAll(state, del('a', { expectedVersion: 2n }))[0]).toMatchObject({ succeeded: true, version: 0n });
    expect(state.get('a')).toBeUndefined();
  });
});

describe('KvState sequences', () => {
  it('throws RangeError on a sequence not above the applied one, changing nothing', () => {
    const state = new KvState();
    state.apply(3n, put('a', 'x'));
    expect(() => state.apply(3n, put('b', 'x'))).toThrow(RangeError);
    expect(() => state.apply(2n, put('b', 'x'))).toThrow(RangeError);
    expect(() => state.apply(0n, put('b', 'x'))).toThrow(RangeError);
    expect(() => state.apply(1n << 64n, put('b', 'x'))).toThrow(RangeError);
    expect(() => state.apply(4 as unknown as bigint, put('b', 'x'))).toThrow(RangeError);
    expect(state.get('b')).toBeUndefined();
    expect(state.appliedSequence).toBe(3n);
  });

  it('applies a no-op: noop outcome, the sequence advances, the stamp is kept', () => {
    const state = new KvState();
    expect(state.apply(1n, noop({ writtenUnixMs: 42n }))).toEqual({ kind: 'noop' });
    expect(state.appliedSequence).toBe(1n);
    expect(state.lastWrittenUnixMs).toBe(42n);
    expect(state.keyCount).toBe(0);
  });

  it('keeps the stamp of the last entry, whatever its outcome, and never decides on it', () => {
    const state = new KvState();
    applyAll(state, put('a', 'x', { writtenUnixMs: 10n }));
    const refusedEntry = put('', 'x', { writtenUnixMs: 5n });
    expect(applyAll(state, refusedEntry)[0]).toMatchObject({ kind: 'refused', field: 'key' });
    expect(state.lastWrittenUnixMs).toBe(5n);
    expect(applyAll(state, put('a', 'y', { writtenUnixMs: 0n }))[0]).toMatchObject({ succeeded: true, version: 2n });
  });
});

describe('KvState transactions', () => {
  it('runs the success ops when every compare holds, in order and atomically', () => {
    const state = new KvState();
    applyAll(state, put('a', 'x'));
    const [outcome] = applyAll(
      state,
      txn(
        [versionIs('a', 'eq', 1n), valueIs('a', 'eq', 'x'), versionIs('b', 'eq', 0n)],
        [putOp('b', 'new'), deleteOp('a')],
      ),
    );
    expect(outcome).toEqual({
      kind: 'txn',
      succeeded: true,
      results: [
        { kind: 'written', succeeded: true, version: 1n, modSequence: 2n },
        { kind: 'written', succeeded: true, version: 0n, modSequence: 0n, previous: { version: 1n, modSequence: 1n } },
      ],
    });
    expect(state.get('a')).toBeUndefined();
    expect(text(state.get('b')?.value)).toBe('new');
  });

  it('runs the failure ops when any compare fails', () => {
    const state = new KvState();
    applyAll(state, put('a', 'x'));
    const [outcome] = applyAll(state, txn([versionIs('a', 'gt', 1n)], [putOp('s', '1')], [putOp('f', '1')]));
    expect(outcome).toMatchObject({ kind: 'txn', succeeded: false, results: [{ succeeded: true, version: 1n }] });
    expect(state.get('s')).toBeUndefined();
    expect(state.get('f')).toBeDefined();
    expect(applyAll(state, txn([versionIs('a', 'lt', 1n)], [putOp('s', '1')]))[0]).toEqual({
      kind: 'txn',
      succeeded: false,
      results: [],
    });
  });

  it('compares versions with eq, ne, lt and gt, an absent key being version 0', () => {
    const state = new KvState();
    applyAll(state, put('a', 'x'), put('a', 'x'));
    const holds = (compare: ReturnType<typeof versionIs>) =>
      (applyAll(state, txn([compare], []))[0] as { succeeded: boolean }).succeeded;
    expect([holds(versionIs('a', 'eq', 2n)), holds(versionIs('a', 'ne', 2n))]).toEqual([true, false]);
    expect([holds(versionIs('a', 'lt', 3n)), holds(versionIs('a', 'lt', 2n))]).toEqual([true, false]);
    expect([holds(versionIs('a', 'gt', 1n)), holds(versionIs('a', 'gt', 2n))]).toEqual([true, false]);
    expect([holds(versionIs('none', 'eq', 0n)), holds(versionIs('none', 'gt', 0n))]).toEqual([true, false]);
  });

  it('fails a value compare on an absent key whatever the op (etcd)', () => {
    const state = new KvState();
    applyAll(state, put('a', 'x'));
    const holds = (compare: ReturnType<typeof valueIs>) =>
      (applyAll(state, txn([compare], []))[0] as { succeeded: boolean }).succeeded;
    expect([holds(valueIs('a', 'eq', 'x')), holds(valueIs('a', 'ne', 'x')), holds(valueIs('a', 'ne', 'xx'))]).toEqual([
      true,
      false,
      true,
    ]);
    expect([holds(valueIs('none', 'eq', '')), holds(valueIs('none', 'ne', 'x'))]).toEqual([false, false]);
  });

  it('refuses a branch that writes one key twice, naming the second op, and changes nothing', () => {
    const state = new KvState();
    const [outcome] = applyAll(state, txn([], [putOp('a', '1'), putOp('b', '1'), deleteOp('a')]));
    expect(outcome).toMatchObject({ kind: 'refused', code: 'invalid-argument', field: 'txn.success[2].key' });
    expect(state.keyCount).toBe(0);
    expect(applyAll(state, txn([], [], [putOp('a', '1'), putOp('a', '2')]))[0]).toMatchObject({
      field: 'txn.failure[1].key',
    });
  });

  it('refuses an expected version inside a transaction: conditions belong in its compares', () => {
    const state = new KvState();
    expect(applyAll(state, txn([], [putOp('a', '1', 0n)]))[0]).toMatchObject({
      kind: 'refused',
      code: 'invalid-argument',
      field: 'txn.success[0].expected_version',
    });
  });

  it('bounds compares and each branch by txnOpsMax', () => {
    const state = new KvState({ txnOpsMax: 2 });
    const ops = (count: number) => Array.from({ length: count }, (_, index) => putOp(`k${index}`, 'v'));
    expect(applyAll(state, txn([], ops(3)))[0]).toMatchObject({ code: 'invalid-argument', field: 'txn.success' });
    expect(applyAll(state, txn([], [], ops(3)))[0]).toMatchObject({ field: 'txn.failure' });
    const compares = [versionIs('a', 'eq', 0n), versionIs('a', 'eq', 0n), versionIs('a', 'eq', 0n)];
    expect(applyAll(state, txn(compares, []))[0]).toMatchObject({ field: 'txn.compares' });
    expect(applyAll(state, txn(compares.slice(0, 2), ops(2)))[0]).toMatchObject({ kind: 'txn', succeeded: true });
  });
});

describe('KvState fencing', () => {
  const fenced = (token: bigint, key = 'k', lockName = 'lock') => put(key, `t${token}`, { fence: { lockName, token } });

  it('refuses a token lower than the highest applied, allows equal and higher ones and raises the highest', () => {
    const state = new KvState();
    applyAll(state, fenced(5n));
    expect(state.highestFence('lock')).toBe(5n);
    expect(applyAll(state, fenced(4n))[0]).toEqual({
      kind: 'refused',
      code: 'failed-precondition',
      field: 'fence.token',
      message: 'token 4 is below 5, already applied for the lock',
    });
    expect(text(state.get('k')?.value)).toBe('t5');
    expect(applyAll(state, fenced(5n))[0]).toMatchObject({ succeeded: true, version: 2n });
    expect(applyAll(state, fenced(9n))[0]).toMatchObject({ succeeded: true, version: 3n });
    expect(state.highestFence('lock')).toBe(9n);
    expect(applyAll(state, fenced(8n))[0]).toMatchObject({ kind: 'refused', field: 'fence.token' });
  });

  it('keeps one highest token per lock name', () => {
    const state = new KvState();
    applyAll(state, fenced(7n, 'k', 'one'), fenced(2n, 'k', 'two'));
    expect([state.highestFence('one'), state.highestFence('two'), state.highestFence('three')]).toEqual([
      7n,
      2n,
      undefined,
    ]);
  });

  it('raises the fence on a failed compare too: a stale holder may not write after a newer one looked', () => {
    const state = new KvState();
    applyAll(state, put('k', 'v'));
    const newer = put('k', 'new', { expectedVersion: 9n, fence: { lockName: 'lock', token: 3n } });
    expect(applyAll(state, newer)[0]).toMatchObject({ kind: 'written', succeeded: false });
    expect(state.highestFence('lock')).toBe(3n);
    expect(applyAll(state, fenced(2n))[0]).toMatchObject({ kind: 'refused', field: 'fence.token' });
    const failedTxn = txn([versionIs('k', 'eq', 9n)], [], [], { fence: { lockName: 'lock', token: 4n } });
    expect(applyAll(state, failedTxn)[0]).toMatchObject({ kind: 'txn', succeeded: false });
    expect(state.highestFence('lock')).toBe(4n);
  });

  it('does not raise the fence for a refused entry', () => {
    const state = new KvState({ valueBytesMax: 4 });
    applyAll(state, fenced(1n));
    expect(applyAll(state, put('k', 'too long', { fence: { lockName: 'lock', token: 6n } }))[0]).toMatchObject({
      kind: 'refused',
      field: 'value',
    });
    expect(state.highestFence('lock')).toBe(1n);
    const full = new KvState({ totalBytesMax: 8 });
    applyAll(full, put('k', 'v', { fence: { lockName: 'lock', token: 1n } }));
    expect(applyAll(full, put('x', '12345678', { fence: { lockName: 'lock', token: 2n } }))[0]).toMatchObject({
      code: 'resource-exhausted',
    });
    expect(full.highestFence('lock')).toBe(1n);
  });

  it('refuses a new lock name once the table is full and never evicts one', () => {
    const state = new KvState({ fenceNamesMax: 2 });
    applyAll(state, fenced(1n, 'k', 'a'), fenced(1n, 'k', 'b'));
    expect(applyAll(state, fenced(1n, 'k', 'c'))[0]).toMatchObject({
      kind: 'refused',
      code: 'resource-exhausted',
      field: 'fence.lock_name',
    });
    expect(state.fenceNameCount).toBe(2);
    expect(state.highestFence('c')).toBeUndefined();
    // Known names keep working, and keep refusing stale tokens.
    expect(applyAll(state, fenced(2n, 'k', 'a'))[0]).toMatchObject({ succeeded: true });
    expect(applyAll(state, fenced(1n, 'k', 'a'))[0]).toMatchObject({ field: 'fence.token' });
  });

  it('checks the fence of a no-op like any other entry', () => {
    const state = new KvState();
    applyAll(state, fenced(3n));
    expect(applyAll(state, noop({ fence: { lockName: 'lock', token: 2n } }))[0]).toMatchObject({ kind: 'refused' });
    expect(applyAll(state, noop({ fence: { lockName: 'lock', token: 3n } }))[0]).toEqual({ kind: 'noop' });
  });
});

describe('KvState idempotency', () => {
  it('answers a repeated request id with the first outcome and changes nothing', () => {
    const state = new KvState();
    const [first] = applyAll(state, put('a', 'x', { requestId: 'r1' }));
    const [again] = applyAll(state, put('a', 'x', { requestId: 'r1' }));
    expect(again).toBe(first);
    expect(state.get('a')).toMatchObject({ version: 1n, modSequence: 1n });
    // Even for a different command under the same id: the id decides.
    expect(applyAll(state, del('a', { requestId: 'r1' }))[0]).toBe(first);
    expect(state.get('a')).toBeDefined();
    expect(state.appliedSequence).toBe(3n);
    expect(state.remembered('r1')).toEqual({ requestId: 'r1', sequence: 1n, outcome: first });
    expect(state.remembered('')).toBeUndefined();
  });

  it('remembers refusals too, and a request id does not bypass the fence on a new id', () => {
    const state = new KvState();
    applyAll(state, put('k', 'v', { fence: { lockName: 'l', token: 5n } }));
    const [refusedOnce] = applyAll(state, put('k', 'w', { requestId: 'r', fence: { lockName: 'l', token: 4n } }));
    expect(refusedOnce).toMatchObject({ kind: 'refused', field: 'fence.token' });
    expect(applyAll(state, put('k', 'w', { requestId: 'r', fence: { lockName: 'l', token: 9n } }))[0]).toBe(
      refusedOnce,
    );
    expect(state.highestFence('l')).toBe(5n);
  });

  it('treats an empty request id as none', () => {
    const state = new KvState();
    applyAll(state, put('a', 'x'), put('a', 'x'));
    expect(state.get('a')?.version).toBe(2n);
    expect(state.rememberedRequestCount).toBe(0);
  });

  it('refuses a request id over 128 bytes or not well-formed, without remembering it', () => {
    const state = new KvState();
    expect(applyAll(state, put('a', 'x', { requestId: 'é'.repeat(65) }))[0]).toMatchObject({
      kind: 'refused',
      code: 'invalid-argument',
      field: 'request_id',
    });
    expect(applyAll(state, put('a', 'x', { requestId: '\ud800' }))[0]).toMatchObject({ field: 'request_id' });
    expect(applyAll(state, put('a', 'x', { requestId: 'r'.repeat(128) }))[0]).toMatchObject({ succeeded: true });
    expect(state.rememberedRequestCount).toBe(1);
  });

  it('forgets the oldest request id past dedupeEntriesMax: a retry older than that applies again', () => {
    const state = new KvState({ dedupeEntriesMax: 2 });
    applyAll(state, put('a', 'x', { requestId: 'r1' }), put('b', 'x', { requestId: 'r2' }));
    applyAll(state, put('c', 'x', { requestId: 'r3' }));
    expect(state.rememberedRequestCount).toBe(2);
    expect(state.remembered('r1')).toBeUndefined();
    expect(applyAll(state, put('a', 'x', { requestId: 'r1' }))[0]).toMatchObject({ succeeded: true, version: 2n });
    expect(applyAll(state, put('c', 'x', { requestId: 'r3' }))[0]).toMatchObject({ version: 1n });
  });

  it('forgets the oldest past dedupeBytesMax, always keeping the newest', () => {
    // A single-op outcome without previous: 1 + 17 bytes, plus 8 for the sequence and the id's bytes.
    const perRequest = 1 + 17 + 8 + 2;
    const state = new KvState({ dedupeBytesMax: perRequest * 3 });
    applyAll(state, ...['r1', 'r2', 'r3', 'r4'].map((requestId, index) => put(`k${index}`, 'x', { requestId })));
    expect(['r1', 'r2', 'r3', 'r4'].map((id) => state.remembered(id) !== undefined)).toEqual([false, true, true, true]);
    const tiny = new KvState({ dedupeBytesMax: 1 });
    applyAll(tiny, put('a', 'x', { requestId: 'r1' }), put('b', 'x', { requestId: 'r2' }));
    expect(tiny.rememberedRequestCount).toBe(1);
    expect(tiny.remembered('r2')).toBeDefined();
  });
});

describe('KvState limits and malformed entries', () => {
  it('refuses empty keys and keys over keyBytesMax counted in UTF-8 bytes', () => {
    const state = new KvState({ keyBytesMax: 4 });
    expect(applyAll(state, put('', 'x'))[0]).toMatchObject({ code: 'invalid-argument', field: 'key' });
    expect(applyAll(state, put('abcd', 'x'))[0]).toMatchObject({ succeeded: true });
    expect(applyAll(state, put('ééé', 'x'))[0]).toEqual({
      kind: 'refused',
      code: 'invalid-argument',
      field: 'key',
      message: 'is 6 bytes of UTF-8, over keyBytesMax 4',
    });
    expect(applyAll(state, del('abcde'))[0]).toMatchObject({ field: 'key' });
  });

  it('refuses keys with a lone surrogate: they have no exact UTF-8 form', () => {
    const state = new KvState();
    expect(applyAll(state, put('a\udc00', 'x'))[0]).toMatchObject({ field: 'key' });
    expect(applyAll(state, put('\ud83d', 'x'))[0]).toMatchObject({ field: 'key' });
    expect(applyAll(state, put('\ud83d\ude00', 'x'))[0]).toMatchObject({ succeeded: true });
  });

  it('refuses values over valueBytesMax, also in compares and branches', () => {
    const state = new KvState({ valueBytesMax: 3 });
    expect(applyAll(state, put('a', 'abc'))[0]).toMatchObject({ succeeded: true });
    expect(applyAll(state, put('a', 'abcd'))[0]).toMatchObject({ code: 'invalid-argument', field: 'value' });
    expect(applyAll(state, txn([valueIs('a', 'eq', 'abcd')], []))[0]).toMatchObject({
      field: 'txn.compares[0].value',
    });
    expect(applyAll(state, txn([], [], [putOp('b', '1'), putOp('c', 'abcd')]))[0]).toMatchObject({
      field: 'txn.failure[1].value',
    });
  });

  it('refuses a write past totalBytesMax (keys plus values) as resource-exhausted, and frees bytes on delete', () => {
    const state = new KvState({ totalBytesMax: 10 });
    applyAll(state, put('a', '1234'), put('b', '1234'));
    expect(state.totalBytes).toBe(10);
    expect(applyAll(state, put('c', ''))[0]).toMatchObject({
      kind: 'refused',
      code: 'resource-exhausted',
      field: 'value',
    });
    // Overwriting with a value of the same size, or smaller, still fits.
    expect(applyAll(state, put('a', '4321'))[0]).toMatchObject({ succeeded: true });
    expect(applyAll(state, put('a', '1'))[0]).toMatchObject({ succeeded: true });
    expect(state.totalBytes).toBe(7);
    applyAll(state, del('b'));
    expect(applyAll(state, put('c', '1234567'))[0]).toMatchObject({ succeeded: true });
    expect(state.totalBytes).toBe(10);
  });

  it('checks a transaction branch against totalBytesMax as a whole', () => {
    const state = new KvState({ totalBytesMax: 10 });
    applyAll(state, put('a', '12345678'));
    // Growing past the bound in the middle is fine when the branch ends within it.
    expect(applyAll(state, txn([], [putOp('b', '12345'), deleteOp('a')]))[0]).toMatchObject({ succeeded: true });
    expect(applyAll(state, txn([], [putOp('c', '1'), putOp('d', '12'), putOp('e', '1')]))[0]).toMatchObject({
      kind: 'refused',
      code: 'resource-exhausted',
      field: 'txn.success[1].value',
    });
    expect([state.get('c'), state.totalBytes]).toEqual([undefined, 6]);
  });

  it('does not count a put whose expected version fails against the bound', () => {
    const state = new KvState({ totalBytesMax: 4 });
    applyAll(state, put('a', '123'));
    expect(applyAll(state, put('b', '1234', { expectedVersion: 5n }))[0]).toMatchObject({
      kind: 'written',
      succeeded: false,
    });
  });

  it('refuses malformed entries with the field named instead of throwing', () => {
    const state = new KvState();
    const cases: Array<[unknown, string]> = [
      [null, 'command'],
      [{ ...put('a', 'x'), requestId: 7 }, 'request_id'],
      [{ ...put('a', 'x'), writtenUnixMs: -1n }, 'written_unix_ms'],
      [{ ...put('a', 'x'), writtenUnixMs: 1 }, 'written_unix_ms'],
      [{ ...put('a', 'x'), fence: { lockName: '', token: 1n } }, 'fence.lock_name'],
      [{ ...put('a', 'x'), fence: { lockName: 'l', token: 1n << 64n } }, 'fence.token'],
      [{ ...put('a', 'x'), fence: 'l' }, 'fence'],
      [{ ...put('a', 'x'), body: { type: 'drop' } }, 'body'],
      [command({ type: 'op', op: { type: 'put', key: 'a', value: 'x' } } as never), 'value'],
      [command({ type: 'op', op: { type: 'rename', key: 'a' } } as never), 'type'],
      [command({ type: 'op', op: null } as never), 'op'],
      [put('a', 'x', { expectedVersion: -1n }), 'expected_version'],
      [command({ type: 'txn', compares: {}, success: [], failure: [] } as never), 'txn.compares'],
      [txn([{ key: 'a', target: 'version', op: 'eq', version: 1 } as never], []), 'txn.compares[0].version'],
      [txn([{ key: 'a', target: 'value', op: 'lt', value: bytes('') } as never], []), 'txn.compares[0].op'],
      [txn([{ key: 'a', target: 'lease' } as never], []), 'txn.compares[0].target'],
      [txn([], [null as never]), 'txn.success[0]'],
    ];
    for (const [entry, field] of cases) {
      const outcome = applyAll(state, entry as Command)[0];
      expect({ field, outcome }).toMatchObject({
        field,
        outcome: { kind: 'refused', code: 'invalid-argument', field },
      });
    }
    expect([state.keyCount, state.totalBytes, state.fenceNameCount]).toEqual([0, 0, 0]);
    expect(state.appliedSequence).toBe(BigInt(cases.length));
  });

  it('rejects limits that are not positive integers or not known', () => {
    expect(() => new KvState({ keyBytesMax: 0 })).toThrow(RangeError);
    expect(() => new KvState({ totalBytesMax: 1.5 })).toThrow(RangeError);
    expect(() => new KvState({ keyBytesMaxx: 3 } as never)).toThrow(RangeError);
  });
});

describe('KvState scan', () => {
  const state = new KvState();
  const keys = ['a', 'a/1', 'a/2', 'a/10', 'ab', 'b', '\u{ffff}', '\u{10000}', 'é'];
  keys.forEach((key, index) => state.apply(BigInt(index + 1), put(key, key)));
  const scanKeys = (request: Parameters<KvState['scan']>[0]) => state.scan(request).kvs.map((kv) => kv.key);

  it('lists keys in code point order (UTF-8 byte order)', () => {
    expect(scanKeys({ limit: 100 })).toEqual(['a', 'a/1', 'a/10', 'a/2', 'ab', 'b', 'é', '\u{ffff}', '\u{10000}']);
  });

  it('selects by prefix, start key (inclusive) and end key (exclusive)', () => {
    expect(scanKeys({ prefix: 'a/', limit: 100 })).toEqual(['a/1', 'a/10', 'a/2']);
    expect(scanKeys({ prefix: 'a', startKey: 'a/10', limit: 100 })).toEqual(['a/10', 'a/2', 'ab']);
    expect(scanKeys({ startKey: 'a/2', endKey: 'é', limit: 100 })).toEqual(['a/2', 'ab', 'b']);
    expect(scanKeys({ prefix: 'a/', startKey: '0', limit: 100 })).toEqual(['a/1', 'a/10', 'a/2']);
    expect(scanKeys({ prefix: 'zz', limit: 100 })).toEqual([]);
  });

  it('pages with nextStartKey until the range is done', () => {
    const pages: string[][] = [];
    let startKey: string | undefined = '';
    while (startKey !== undefined) {
      const page = state.scan({ prefix: 'a', startKey, limit: 2 });
      pages.push(page.kvs.map((kv) => kv.key));
      startKey = page.nextStartKey;
    }
    expect(pages).toEqual([['a', 'a/1'], ['a/10', 'a/2'], ['ab']]);
    expect(state.scan({ prefix: 'a/', limit: 3 }).nextStartKey).toBeUndefined();
  });

  it('throws RangeError on a limit outside 1..scanLimitMax', () => {
    expect(() => state.scan({ limit: 0 })).toThrow(RangeError);
    expect(() => state.scan({ limit: 1001 })).toThrow(RangeError);
    expect(() => state.scan({ limit: 1.5 })).toThrow(RangeError);
  });
});

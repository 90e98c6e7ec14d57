import {
  checkLinearizability,
  formatHistoryJsonLines,
  parseHistoryJsonLines,
  type HistoryOperation,
} from '@bulwark/history';
import { ChaosHistoryBuilder, acquire, cas, casOk, del, deleteOk, get, getOk, granted, put, putOk } from '../testing';
import { toRegisterHistory } from './register-history';

describe('toRegisterHistory', () => {
  it('converts sync single-key writes and STRONG reads to the register model, with monotonic times', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('k', 'a', { fence: { lockName: 'L', token: 1n } }), [0, 10], putOk());
    history.ok('c2', get('k'), [12, 14], getOk('a'));
    history.ok('c2', get('k', 'bounded'), [15, 16], getOk(null));
    history.ok('c1', cas('k', 'a', 'b'), [20, 30.5], casOk(true));
    history.unknown('c3', cas('k', 'b', 'c'), [31, 40]);
    history.fail('c1', del('k'), [41, 45]);
    history.unknown('c2', get('k'), [46, null]);
    history.ok('c1', del('k'), [50, 60], deleteOk());
    history.ok('c4', acquire('L', 'o'), [0, 1], granted(1n, 100));

    const registers = toRegisterHistory(history.records);

    expect(registers.excludedKeys).toEqual([]);
    expect(registers.operations).toEqual([
      {
        client: 'c1',
        key: 'k',
        op: 'put',
        value: 'a',
        expect: null,
        result: null,
        invokedMs: 0,
        completedMs: 10,
        outcome: 'ok',
      },
      {
        client: 'c2',
        key: 'k',
        op: 'get',
        value: null,
        expect: null,
        result: 'a',
        invokedMs: 12,
        completedMs: 14,
        outcome: 'ok',
      },
      {
        client: 'c1',
        key: 'k',
        op: 'cas',
        value: 'b',
        expect: 'a',
        result: true,
        invokedMs: 20,
        completedMs: 30.5,
        outcome: 'ok',
      },
      {
        client: 'c3',
        key: 'k',
        op: 'cas',
        value: 'c',
        expect: 'b',
        result: null,
        invokedMs: 31,
        completedMs: null,
        outcome: 'unknown',
      },
      {
        client: 'c1',
        key: 'k',
        op: 'del',
        value: null,
        expect: null,
        result: null,
        invokedMs: 41,
        completedMs: 45,
        outcome: 'fail',
      },
      {
        client: 'c1',
        key: 'k',
        op: 'del',
        value: null,
        expect: null,
        result: null,
        invokedMs: 50,
        completedMs: 60,
        outcome: 'ok',
      },
    ]);
    expect(registers.sourceOf(registers.operations[2] as HistoryOperation).opId).toBe(4);
    expect(checkLinearizability(registers.operations).verdict).toBe('linearizable');
    // The check-history file: what libs/history writes, it reads back (failed operations left out).
    const text = formatHistoryJsonLines(registers.operations);
    expect(parseHistoryJsonLines(text)).toHaveLength(5);
    expect(text.split('\n')[0]).toBe(
      '{"key":"k","op":"put","value":"a","expect":null,"result":null,"call":0,"return":10,"client":"c1"}',
    );
  });

  it('leaves out a whole key that an async, version-conditional or transactional write may have touched', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', put('kept', 'a'), [0, 10], putOk());
    history.ok('c1', put('async', 'a', { durability: 'async' }), [0, 10], putOk());
    history.ok('c1', get('async'), [11, 12], getOk('a'));
    history.unknown('c1', put('versioned', 'a', { expectedVersion: 3n }), [0, null]);
    history.ok(
      'c1',
      {
        kind: 'txn',
        compares: [{ key: 'kept', target: 'value', operator: 'equal', value: 'a' }],
        success: [],
        failure: [{ type: 'delete', key: 'txn' }],
        durability: 'sync',
      },
      [20, 30],
      { kind: 'txn', succeeded: true, group: 'group-a' },
    );
    // A failed write never took effect, so it excludes nothing.
    history.fail('c1', put('kept', 'b', { durability: 'async' }), [40, 45]);

    const registers = toRegisterHistory(history.records);

    expect(registers.excludedKeys).toEqual([
      { key: 'async', reason: 'async-write', opId: 2 },
      { key: 'versioned', reason: 'version-conditional-write', opId: 4 },
      { key: 'txn', reason: 'transaction', opId: 5 },
    ]);
    expect(registers.operations.map(({ key, op }) => `${op} ${key}`)).toEqual(['put kept']);
  });
});

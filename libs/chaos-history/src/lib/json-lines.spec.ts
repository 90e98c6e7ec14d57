import { InvalidArgumentError } from '@bulwark/errors';
import {
  ChaosHistoryBuilder,
  acquire,
  boundedGet,
  committedAt,
  deleteOk,
  getOk,
  granted,
  put,
  putOk,
  replica,
} from '../testing';
import { formatChaosHistory, formatChaosRecord, parseChaosHistory } from './json-lines';
import type { ChaosRecord, TxnOperation } from './records';

function problem(text: string): string {
  try {
    parseChaosHistory(text);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidArgumentError');
}

const invoke = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'invoke',
    opId: 1,
    client: 'c1',
    wallMs: 1,
    monoMs: 1,
    op: { kind: 'put', key: 'k', value: 'v', durability: 'sync' },
    ...fields,
  });
/** A put's ok result with the given fields added. */
const okResult = (fields: Record<string, unknown>) => ({
  kind: 'put',
  succeeded: true,
  version: '1',
  group: 'group-a',
  ...fields,
});
const ok = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'ok',
    opId: 1,
    client: 'c1',
    wallMs: 2,
    monoMs: 2,
    result: okResult({}),
    ...fields,
  });

const txn: TxnOperation = {
  kind: 'txn',
  compares: [
    { key: 'user:{1}:name', target: 'value', operator: 'equal', value: 'Ada' },
    { key: 'user:{1}:email', target: 'version', operator: 'less', version: 3n },
  ],
  success: [
    { type: 'put', key: 'user:{1}:name', value: 'Grace' },
    { type: 'delete', key: 'user:{1}:email' },
  ],
  failure: [],
  durability: 'async',
  fence: { lockName: 'users', token: 18446744073709551615n },
};

describe('chaos history JSON lines', () => {
  it('writes uint64s as decimal strings and final-read values as an object, and reads back what it wrote', () => {
    const history = new ChaosHistoryBuilder();
    history.ok(
      'c1',
      put('k', 'v', { expectedVersion: 0n, fence: { lockName: 'L', token: 9007199254740993n } }),
      [0, 1],
      putOk(),
    );
    history.ok(
      'c2',
      txn,
      [2, 3],
      committedAt(3n, 18446744073709551615n, { kind: 'txn', succeeded: false, group: 'group-b' }),
    );
    history.ok('c2', { kind: 'delete', key: 'k', durability: 'sync' }, [2, 3], committedAt(1n, 2n, deleteOk()));
    history.ok('c3', acquire('L', 'o3', 5_000), [4, 5.25], granted(2n ** 63n, 4_954.5));
    history.ok('c3', acquire('L', 'o3'), [6, 7], { kind: 'lock-acquire', acquired: false });
    history.unknown('c4', { kind: 'get', key: 'k', consistency: 'bounded' }, [8, 9]);
    history.fail('c4', { kind: 'delete', key: 'k', durability: 'sync' }, [10, 11], 'failed-precondition: x');
    history.fault(
      'partition',
      [replica('replica-a1', 'group-a', true), { member: 'router-1', group: null, primary: false }],
      [12, 13],
    );
    // JSON.parse makes "__proto__" an own key, as it would read it from a file; a key is any string.
    history.finalRead(
      'group-a',
      'replica-a1',
      20,
      'd',
      JSON.parse('{"k":"v","gone":null,"__proto__":"odd but legal"}'),
    );
    history.finalReadFailed('group-a', 'replica-a2', 21, 'unavailable: connection refused');
    const records = history.records;
    const text = formatChaosHistory(records);

    expect(text.split('\n')[0]).toBe(
      '{"type":"invoke","opId":1,"client":"c1","wallMs":1733450000000,"monoMs":0,' +
        '"op":{"kind":"put","key":"k","value":"v","durability":"sync","expectedVersion":"0",' +
        '"fence":{"lockName":"L","token":"9007199254740993"}}}',
    );
    expect(text).toContain('"values":{"k":"v","gone":null,"__proto__":"odd but legal"}');
    expect(text).toContain('"group":"group-b","epoch":"3","sequence":"18446744073709551615"}');
    // A result without a position writes neither field.
    expect(text).toContain('"result":{"kind":"put","succeeded":true,"version":"1","group":"group-a"}}');
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseChaosHistory(text)).toEqual(records);
    expect(parseChaosHistory(`\n${text}\n\n`)).toEqual(records);
  });

  it('writes each line back exactly as the README shows it', () => {
    const lines = [
      '{"type":"invoke","opId":7,"client":"c2","wallMs":1733450000123,"monoMs":1520.25,"op":{"kind":"put","key":"user/1","value":"v7","durability":"sync","fence":{"lockName":"jobs","token":"3"}}}',
      '{"type":"invoke","opId":8,"client":"c3","wallMs":1733450000124,"monoMs":1521,"op":{"kind":"get","key":"user/1","consistency":"strong"}}',
      '{"type":"fault","faultId":1,"phase":"start","wallMs":1733450000125,"monoMs":1522,"kind":"kill","targets":[{"member":"replica-a1","group":"group-a","primary":true}],"detail":"SIGKILL"}',
      '{"type":"ok","opId":7,"client":"c2","wallMs":1733450000131,"monoMs":1528.5,"result":{"kind":"put","succeeded":true,"version":"4","group":"group-a","epoch":"3","sequence":"1207"}}',
      '{"type":"unknown","opId":8,"client":"c3","wallMs":1733450009124,"monoMs":10521,"error":"deadline-exceeded: no answer within 9000 ms"}',
      '{"type":"invoke","opId":9,"client":"w2","wallMs":1733450010000,"monoMs":11397,"op":{"kind":"lock-acquire","name":"jobs","owner":"worker-2","ttlMs":2000}}',
      '{"type":"ok","opId":9,"client":"w2","wallMs":1733450010004,"monoMs":11401.5,"result":{"kind":"lock-acquire","acquired":true,"token":"4","validUntilMonoMs":13375}}',
      '{"type":"invoke","opId":10,"client":"w1","wallMs":1733450010100,"monoMs":11497,"op":{"kind":"cas","key":"user/1","expect":"v7","value":"v8","durability":"sync","fence":{"lockName":"jobs","token":"3"}}}',
      '{"type":"fail","opId":10,"client":"w1","wallMs":1733450010103,"monoMs":11500,"error":"failed-precondition: fence.token: token 3 is below 4, already applied for the lock"}',
      '{"type":"fault","faultId":1,"phase":"end","wallMs":1733450020000,"monoMs":21397,"kind":"kill","targets":[{"member":"replica-a1","group":"group-a","primary":false}],"detail":"restarted"}',
      '{"type":"final-read","group":"group-a","member":"replica-a2","wallMs":1733450030000,"monoMs":31397,"digest":"5f2c9e01","values":{"user/1":"v7","user/2":null}}',
      '{"type":"final-read-failed","group":"group-a","member":"replica-a3","wallMs":1733450030001,"monoMs":31398,"error":"unavailable: connection refused"}',
    ];
    const text = `${lines.join('\n')}\n`;
    expect(formatChaosHistory(parseChaosHistory(text))).toBe(text);
  });

  it('reads a record of each type written by hand', () => {
    const lines = [
      invoke(),
      ok(),
      '{"type":"fault","faultId":1,"phase":"start","kind":"clock-skew","targets":[],"detail":"+200 ms","wallMs":3,"monoMs":3}',
      '{"type":"final-read","group":"g","member":"m","wallMs":4,"monoMs":4,"digest":"ab12","values":{}}',
    ];
    const records = parseChaosHistory(lines.join('\n'));
    expect(records.map((record: ChaosRecord) => record.type)).toEqual(['invoke', 'ok', 'fault', 'final-read']);
    expect(records[1]).toMatchObject({ result: { version: 1n } });
  });

  it.each<[string, string[], string]>([
    ['bad JSON', ['{"type":'], 'line 1: not valid JSON'],
    ['an array', ['[1]'], 'line 1: must be a JSON object, got [1]'],
    ['an unknown type', [invoke({ type: 'invoked' })], 'line 1 field "type": must be one of invoke, ok, fail, unknown'],
    [
      'a missing field',
      [JSON.stringify({ type: 'fail', opId: 1, client: 'c', wallMs: 1, monoMs: 1 })],
      'line 1 field "error": is missing',
    ],
    ['an unknown field', [invoke({ opid: 2 })], 'line 1 field "opid": is not a field here'],
    [
      'a token as a number',
      [invoke({ op: { kind: 'put', key: 'k', value: 'v', durability: 'sync', fence: { lockName: 'L', token: 7 } } })],
      'line 1 field "op.fence.token": must be a decimal string from "0" to "18446744073709551615", got 7',
    ],
    [
      'a token beyond uint64',
      [invoke({ op: { kind: 'lock-release', name: 'L', owner: 'o', token: '18446744073709551616' } })],
      'line 1 field "op.token": must be a decimal string',
    ],
    [
      'a token with a sign',
      [invoke({ op: { kind: 'lock-release', name: 'L', owner: 'o', token: '+1' } })],
      'line 1 field "op.token"',
    ],
    [
      'an unknown durability',
      [invoke({ op: { kind: 'put', key: 'k', value: 'v', durability: 'fsync' } })],
      'line 1 field "op.durability": must be one of sync, async, got "fsync"',
    ],
    [
      'an empty key',
      [invoke({ op: { kind: 'get', key: '', consistency: 'strong' } })],
      'line 1 field "op.key": must not be empty',
    ],
    [
      'a bad txn compare',
      [
        invoke({
          op: { ...txn, fence: undefined, compares: [{ key: 'a', target: 'value', operator: 'equal', version: '1' }] },
        }),
      ],
      'line 1 field "op.compares[0].value": is missing',
    ],
    ['a fractional opId', [invoke({ opId: 1.5 })], 'line 1 field "opId": must be an integer from 0'],
    [
      'a time that is not finite',
      [invoke({ monoMs: '12' })],
      'line 1 field "monoMs": must be a finite number, got "12"',
    ],
    [
      'a token on a refused acquire',
      [
        invoke({ op: { kind: 'lock-acquire', name: 'L', owner: 'o', ttlMs: 10 } }),
        ok({ result: { kind: 'lock-acquire', acquired: false, token: '1' } }),
      ],
      'line 2 field "result.token": is not a field here',
    ],
    [
      'an epoch without a sequence',
      [invoke(), ok({ result: okResult({ epoch: '2' }) })],
      'line 2 field "result.sequence": is missing: a result with an epoch has a sequence too',
    ],
    [
      'a sequence without an epoch',
      [invoke(), ok({ result: okResult({ sequence: '9' }) })],
      'line 2 field "result.epoch": is missing: a result with a sequence has an epoch too',
    ],
    [
      'epoch 0',
      [invoke(), ok({ result: okResult({ epoch: '0', sequence: '9' }) })],
      'line 2 field "result.epoch": must be at least "1" (leave both out when unknown), got "0"',
    ],
    [
      'sequence 0',
      [invoke(), ok({ result: okResult({ epoch: '2', sequence: '0' }) })],
      'line 2 field "result.sequence": must be at least "1"',
    ],
    [
      'a sequence as a number',
      [invoke(), ok({ result: okResult({ epoch: '2', sequence: 9 }) })],
      'line 2 field "result.sequence": must be a decimal string from "0"',
    ],
    [
      'a position on a read',
      [
        invoke({ op: { kind: 'get', key: 'k', consistency: 'strong' } }),
        ok({ result: { kind: 'get', value: null, version: '0', member: 'm', epoch: '1', sequence: '1' } }),
      ],
      'line 2 field "result.epoch": is not a field here',
    ],
    [
      'a fault kind that is not a word',
      ['{"type":"fault","faultId":1,"phase":"start","kind":"Kill 9","targets":[],"detail":"","wallMs":1,"monoMs":1}'],
      'line 1 field "kind": must be lower-case words',
    ],
    [
      'an empty target group',
      [
        '{"type":"fault","faultId":1,"phase":"start","kind":"kill","targets":[{"member":"m","group":"","primary":false}],"detail":"","wallMs":1,"monoMs":1}',
      ],
      'line 1 field "targets[0].group": must be a group id or null',
    ],
    [
      'a final-read value that is a number',
      ['{"type":"final-read","group":"g","member":"m","wallMs":4,"monoMs":4,"digest":"d","values":{"k":1}}'],
      'line 1 field "values.k": must be a string or null, got 1',
    ],
  ])('names the line and field of %s', (_case, lines, expected) => {
    expect(problem(lines.join('\n'))).toContain(expected);
  });

  it.each<[string, string[], string]>([
    ['a completion without an invocation', ['', ok()], 'line 2 field "opId": no invocation of 1 before it'],
    ['an opId invoked twice', [invoke(), invoke()], 'line 2 field "opId": 1 was invoked already, at line 1'],
    ['a second completion', [invoke(), ok(), ok()], 'line 3 field "opId": 1 already completed, at line 2'],
    ['a completion by another client', [invoke(), ok({ client: 'c2' })], 'line 2 field "client": must be "c1"'],
    [
      'a completion before its invocation',
      [invoke({ monoMs: 5 }), ok({ monoMs: 4 })],
      'line 2 field "monoMs": must not be before',
    ],
    [
      'a result of another kind',
      [invoke(), ok({ result: { kind: 'lock-release' } })],
      'line 2 field "result.kind": must be put, the op\'s kind, got lock-release',
    ],
    [
      'a fault end without a start',
      ['{"type":"fault","faultId":4,"phase":"end","kind":"kill","targets":[],"detail":"","wallMs":1,"monoMs":1}'],
      'line 1 field "faultId": no start of fault 4 before it',
    ],
    [
      'two final reads of one member',
      [
        '{"type":"final-read-failed","group":"g","member":"m","wallMs":4,"monoMs":4,"error":"x"}',
        '{"type":"final-read","group":"g","member":"m","wallMs":4,"monoMs":4,"digest":"d","values":{}}',
      ],
      'line 2 field "member": m was read already, at line 1',
    ],
  ])('names the line of %s', (_case, lines, expected) => {
    expect(problem(lines.join('\n'))).toContain(expected);
  });

  it('formats one record without a newline', () => {
    const [record] = parseChaosHistory(
      ok()
        .replace('"ok"', '"invoke"')
        .replace(/"result":.*$/, '"op":{"kind":"get","key":"k","consistency":"eventual"}}'),
    );
    expect(formatChaosRecord(record as ChaosRecord)).toBe(
      '{"type":"invoke","opId":1,"client":"c1","wallMs":2,"monoMs":2,"op":{"kind":"get","key":"k","consistency":"eventual"}}',
    );
  });
});

describe("chaos history JSON lines: a bounded read's maxStalenessMs", () => {
  const readOf = (op: Record<string, unknown>) => invoke({ op: { kind: 'get', key: 'k', ...op } });

  it('writes the bound a bounded read asked for and reads it back; a read without one stays without', () => {
    const history = new ChaosHistoryBuilder();
    history.ok('c1', boundedGet('k', 1_000), [0, 1], getOk('v'));
    history.ok('c1', boundedGet('k', 0), [2, 3], getOk(null));
    history.unknown('c1', boundedGet('k', 2.5), [4, null]);
    const records = history.records;
    const text = formatChaosHistory(records);

    expect(text.split('\n')[0]).toBe(
      '{"type":"invoke","opId":1,"client":"c1","wallMs":1733450000000,"monoMs":0,' +
        '"op":{"kind":"get","key":"k","consistency":"bounded","maxStalenessMs":1000}}',
    );
    expect(text).toContain('"consistency":"bounded","maxStalenessMs":0}');
    expect(parseChaosHistory(text)).toEqual(records);
    expect(formatChaosHistory(parseChaosHistory(text))).toBe(text);

    for (const consistency of ['strong', 'bounded', 'eventual']) {
      const [older] = parseChaosHistory(readOf({ consistency }));
      expect(older).toMatchObject({ type: 'invoke', op: { kind: 'get', consistency } });
      expect(older?.type === 'invoke' && Object.hasOwn(older.op, 'maxStalenessMs')).toBe(false);
      expect(formatChaosRecord(older as ChaosRecord)).toBe(readOf({ consistency }));
    }
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'a negative bound',
      { consistency: 'bounded', maxStalenessMs: -1 },
      'line 1 field "op.maxStalenessMs": must be at least 0, got -1',
    ],
    [
      'a bound that is not a number',
      { consistency: 'bounded', maxStalenessMs: '1000' },
      'line 1 field "op.maxStalenessMs": must be a finite number, got "1000"',
    ],
    [
      'a null bound',
      { consistency: 'bounded', maxStalenessMs: null },
      'line 1 field "op.maxStalenessMs": must be a finite number, got null',
    ],
    [
      'a bound on a strong read',
      { consistency: 'strong', maxStalenessMs: 100 },
      'line 1 field "op.maxStalenessMs": is for bounded reads only, not strong ones: leave it out',
    ],
    [
      'a bound on an eventual read',
      { consistency: 'eventual', maxStalenessMs: 0 },
      'line 1 field "op.maxStalenessMs": is for bounded reads only, not eventual ones',
    ],
  ])('refuses %s, naming the line and field', (_case, op, expected) => {
    expect(problem(readOf(op))).toContain(expected);
  });

  it('refuses a bound too large to be a finite number', () => {
    // JSON.stringify cannot write it; a hand-edited file can, and JSON.parse reads it as Infinity.
    const line = readOf({ consistency: 'bounded', maxStalenessMs: 1 }).replace(
      '"maxStalenessMs":1',
      '"maxStalenessMs":1e999',
    );
    expect(problem(line)).toContain('line 1 field "op.maxStalenessMs": must be a finite number, got null');
  });
});

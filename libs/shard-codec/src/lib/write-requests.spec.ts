import { kvV1, type shardV1 } from '@bulwark/contracts';
import { InvalidArgumentError } from '@bulwark/errors';
import { expectInvalidArgument } from '@bulwark/errors/testing';
import { defaultKvLimits, kvLimits } from '@bulwark/kv-state';
import { deleteRequest, putRequest, txnDelete, txnPut, txnRequest, valueCompare, versionCompare } from '../testing';
import { deleteCommand, putCommand, txnCommand } from './write-requests';

const { CompareOperator: Operator, CompareTarget: Target, Durability } = kvV1;
const limits = kvLimits({ keyBytesMax: 8, valueBytesMax: 16, txnOpsMax: 3, lockNameBytesMax: 8 });
const now = 1_700_000_000_123n;
const bytes = (text: string) => new TextEncoder().encode(text);
/** An enum number the contract does not define, as a newer client could send (ts-proto keeps it as is). */
const undefinedEnum = (value: number) => value as never;

describe('putCommand', () => {
  it('maps a put with every field to the command and its durability', () => {
    const { command, durability } = putCommand(
      putRequest({
        key: 'k',
        value: Buffer.from('v'),
        expectedVersion: 0n,
        durability: Durability.DURABILITY_SYNC,
        fence: { lockName: 'lock', token: 9n },
        requestId: 'r-1',
      }),
      limits,
      now,
    );
    expect(command).toEqual({
      requestId: 'r-1',
      writtenUnixMs: now,
      fence: { lockName: 'lock', token: 9n },
      body: { type: 'op', op: { type: 'put', key: 'k', value: bytes('v'), expectedVersion: 0n } },
    });
    expect(durability).toBe('sync');
  });

  it('leaves unset fields out: no expected version, no fence, the group durability', () => {
    const { command, durability } = putCommand(putRequest({ key: 'k', value: Buffer.alloc(0) }), limits, now);
    expect(command).toEqual({
      requestId: '',
      writtenUnixMs: now,
      body: { type: 'op', op: { type: 'put', key: 'k', value: new Uint8Array(0) } },
    });
    expect('fence' in command).toBe(false);
    expect('expectedVersion' in (command.body as { op: object }).op).toBe(false);
    expect(durability).toBeUndefined();
  });

  it('maps DURABILITY_ASYNC and refuses unknown durabilities', () => {
    expect(putCommand(putRequest({ durability: Durability.DURABILITY_ASYNC }), limits, now).durability).toBe('async');
    expectInvalidArgument(
      () => putCommand(putRequest({ durability: undefinedEnum(7) }), limits, now),
      'request.durability',
    );
    expectInvalidArgument(
      () => putCommand(putRequest({ durability: Durability.UNRECOGNIZED }), limits, now),
      'request.durability',
    );
  });

  it('refuses a missing request', () => {
    expectInvalidArgument(() => putCommand({ groupId: 'g1', request: undefined }, limits, now), 'request');
    expectInvalidArgument(() => putCommand(undefined as unknown as shardV1.PutRequest, limits, now), 'request');
  });

  it('refuses an empty key, a key over keyBytesMax in UTF-8 bytes and a lone surrogate', () => {
    expectInvalidArgument(() => putCommand(putRequest({ key: '' }), limits, now), 'request.key');
    expect(putCommand(putRequest({ key: '12345678' }), limits, now).command.requestId).toBe('');
    expectInvalidArgument(() => putCommand(putRequest({ key: '123456789' }), limits, now), 'request.key');
    // 4 characters, 9 bytes of UTF-8.
    expectInvalidArgument(() => putCommand(putRequest({ key: 'ééé€' }), limits, now), 'request.key');
    expectInvalidArgument(() => putCommand(putRequest({ key: 'a\ud800' }), limits, now), 'request.key');
    expectInvalidArgument(() => putCommand(putRequest({ key: '\udc00a' }), limits, now), 'request.key');
    // A key of 1025 bytes under the default limits.
    expectInvalidArgument(() => putCommand(putRequest({ key: 'k'.repeat(1025) }), defaultKvLimits, now), 'request.key');
    expect(putCommand(putRequest({ key: '😀'.repeat(256) }), defaultKvLimits, now).command.body.type).toBe('op');
  });

  it('accepts NUL and other control characters in keys, as kv-state does', () => {
    expect(putCommand(putRequest({ key: 'a\u0000b' }), limits, now).command.body).toMatchObject({
      op: { key: 'a\u0000b' },
    });
  });

  it('refuses a value over valueBytesMax', () => {
    expect(putCommand(putRequest({ value: Buffer.alloc(16) }), limits, now).command.body.type).toBe('op');
    expectInvalidArgument(() => putCommand(putRequest({ value: Buffer.alloc(17) }), limits, now), 'request.value');
    expectInvalidArgument(
      () => putCommand(putRequest({ value: Buffer.alloc(1024 * 1024 + 1) }), defaultKvLimits, now),
      'request.value',
    );
  });

  it('refuses an expected version outside uint64', () => {
    expectInvalidArgument(
      () => putCommand(putRequest({ expectedVersion: -1n }), limits, now),
      'request.expected_version',
    );
    expectInvalidArgument(
      () => putCommand(putRequest({ expectedVersion: 1n << 64n }), limits, now),
      'request.expected_version',
    );
  });

  it('refuses a request id over 128 bytes or with a lone surrogate', () => {
    expect(putCommand(putRequest({ requestId: 'r'.repeat(128) }), limits, now).command.requestId).toHaveLength(128);
    expectInvalidArgument(
      () => putCommand(putRequest({ requestId: 'r'.repeat(129) }), limits, now),
      'request.request_id',
    );
    expectInvalidArgument(
      () => putCommand(putRequest({ requestId: 'é'.repeat(65) }), limits, now),
      'request.request_id',
    );
    expectInvalidArgument(() => putCommand(putRequest({ requestId: '\ud83d' }), limits, now), 'request.request_id');
  });

  it('refuses a fence with an empty or too long lock name, or token 0', () => {
    expectInvalidArgument(
      () => putCommand(putRequest({ fence: { lockName: '', token: 1n } }), limits, now),
      'request.fence.lock_name',
    );
    expectInvalidArgument(
      () => putCommand(putRequest({ fence: { lockName: 'l'.repeat(9), token: 1n } }), limits, now),
      'request.fence.lock_name',
    );
    expectInvalidArgument(
      () => putCommand(putRequest({ fence: { lockName: 'l\udfff', token: 1n } }), limits, now),
      'request.fence.lock_name',
    );
    const message = expectInvalidArgument(
      () => putCommand(putRequest({ fence: { lockName: 'l', token: 0n } }), limits, now),
      'request.fence.token',
    );
    expect(message).toMatch(/^request\.fence\.token: must be above 0/);
    expectInvalidArgument(
      () => putCommand(putRequest({ fence: { lockName: 'l', token: 1n << 64n } }), limits, now),
      'request.fence.token',
    );
  });

  it('takes the stamp from the caller and refuses a stamp outside uint64 as its bug', () => {
    expect(putCommand(putRequest(), limits, 0n).command.writtenUnixMs).toBe(0n);
    expect(() => putCommand(putRequest(), limits, -1n)).toThrow(RangeError);
  });
});

describe('deleteCommand', () => {
  it('maps a delete', () => {
    const { command, durability } = deleteCommand(
      deleteRequest({
        key: 'k',
        expectedVersion: 3n,
        durability: Durability.DURABILITY_ASYNC,
        fence: { lockName: 'l', token: 2n },
        requestId: 'd',
      }),
      limits,
      now,
    );
    expect(command).toEqual({
      requestId: 'd',
      writtenUnixMs: now,
      fence: { lockName: 'l', token: 2n },
      body: { type: 'op', op: { type: 'delete', key: 'k', expectedVersion: 3n } },
    });
    expect(durability).toBe('async');
    expect(deleteCommand(deleteRequest({ key: 'k' }), limits, now).command.body).toEqual({
      type: 'op',
      op: { type: 'delete', key: 'k' },
    });
  });

  it('refuses what a put refuses', () => {
    expectInvalidArgument(() => deleteCommand({ groupId: 'g1', request: undefined }, limits, now), 'request');
    expectInvalidArgument(() => deleteCommand(deleteRequest({ key: '' }), limits, now), 'request.key');
    expectInvalidArgument(() => deleteCommand(deleteRequest({ key: '123456789' }), limits, now), 'request.key');
    expectInvalidArgument(
      () => deleteCommand(deleteRequest({ expectedVersion: -2n }), limits, now),
      'request.expected_version',
    );
    expectInvalidArgument(
      () => deleteCommand(deleteRequest({ durability: undefinedEnum(3) }), limits, now),
      'request.durability',
    );
    expectInvalidArgument(
      () => deleteCommand(deleteRequest({ fence: { lockName: 'l', token: 0n } }), limits, now),
      'request.fence.token',
    );
    expectInvalidArgument(
      () => deleteCommand(deleteRequest({ requestId: 'x'.repeat(129) }), limits, now),
      'request.request_id',
    );
  });
});

describe('txnCommand', () => {
  it('maps compares and both branches', () => {
    const { command, durability } = txnCommand(
      txnRequest({
        compares: [
          versionCompare('a', Operator.COMPARE_OPERATOR_EQUAL, 0n),
          versionCompare('b', Operator.COMPARE_OPERATOR_NOT_EQUAL, 1n),
          versionCompare('c', Operator.COMPARE_OPERATOR_LESS, 2n),
        ],
        success: [txnPut('a', 'x'), txnDelete('b')],
        failure: [txnPut('a', 'y')],
        durability: Durability.DURABILITY_SYNC,
        fence: { lockName: 'l', token: 5n },
        requestId: 't',
      }),
      limits,
      now,
    );
    expect(command).toEqual({
      requestId: 't',
      writtenUnixMs: now,
      fence: { lockName: 'l', token: 5n },
      body: {
        type: 'txn',
        compares: [
          { key: 'a', target: 'version', op: 'eq', version: 0n },
          { key: 'b', target: 'version', op: 'ne', version: 1n },
          { key: 'c', target: 'version', op: 'lt', version: 2n },
        ],
        success: [
          { type: 'put', key: 'a', value: bytes('x') },
          { type: 'delete', key: 'b' },
        ],
        failure: [{ type: 'put', key: 'a', value: bytes('y') }],
      },
    });
    expect(durability).toBe('sync');
  });

  it('maps GREATER version compares and value compares', () => {
    const { command } = txnCommand(
      txnRequest({
        compares: [
          versionCompare('a', Operator.COMPARE_OPERATOR_GREATER, 4n),
          valueCompare('b', Operator.COMPARE_OPERATOR_EQUAL, 'v'),
          valueCompare('c', Operator.COMPARE_OPERATOR_NOT_EQUAL, ''),
        ],
      }),
      limits,
      now,
    );
    expect(command.body).toEqual({
      type: 'txn',
      compares: [
        { key: 'a', target: 'version', op: 'gt', version: 4n },
        { key: 'b', target: 'value', op: 'eq', value: bytes('v') },
        { key: 'c', target: 'value', op: 'ne', value: new Uint8Array(0) },
      ],
      success: [],
      failure: [],
    });
  });

  it('refuses a missing request', () => {
    expectInvalidArgument(() => txnCommand({ groupId: 'g1', request: undefined }, limits, now), 'request');
  });

  it('refuses unknown compare targets and operators, and LESS or GREATER on a value', () => {
    const compare = (c: kvV1.Compare) => () =>
      txnCommand(txnRequest({ compares: [versionCompare('a', 1, 0n), c] }), limits, now);
    expectInvalidArgument(
      compare({ ...versionCompare('a', 1, 0n), target: Target.COMPARE_TARGET_UNSPECIFIED }),
      'request.compares[1].target',
    );
    expectInvalidArgument(
      compare({ ...versionCompare('a', 1, 0n), target: undefinedEnum(9) }),
      'request.compares[1].target',
    );
    expectInvalidArgument(
      compare(versionCompare('a', Operator.COMPARE_OPERATOR_UNSPECIFIED, 0n)),
      'request.compares[1].operator',
    );
    expectInvalidArgument(compare(versionCompare('a', undefinedEnum(5), 0n)), 'request.compares[1].operator');
    expectInvalidArgument(
      compare(valueCompare('a', Operator.COMPARE_OPERATOR_LESS, 'v')),
      'request.compares[1].operator',
    );
    expectInvalidArgument(
      compare(valueCompare('a', Operator.COMPARE_OPERATOR_GREATER, 'v')),
      'request.compares[1].operator',
    );
    expectInvalidArgument(
      compare(valueCompare('a', Operator.COMPARE_OPERATOR_UNSPECIFIED, 'v')),
      'request.compares[1].operator',
    );
  });

  it('refuses bad compare keys, values and versions', () => {
    const compare = (c: kvV1.Compare) => () => txnCommand(txnRequest({ compares: [c] }), limits, now);
    expectInvalidArgument(compare(versionCompare('', 1, 0n)), 'request.compares[0].key');
    expectInvalidArgument(compare(versionCompare('123456789', 1, 0n)), 'request.compares[0].key');
    expectInvalidArgument(compare(valueCompare('a', 1, 'x'.repeat(17))), 'request.compares[0].value');
    expectInvalidArgument(compare(versionCompare('a', 1, -1n)), 'request.compares[0].version');
  });

  it('refuses more than txnOpsMax compares or ops in a branch', () => {
    const four = ['a', 'b', 'c', 'd'];
    expectInvalidArgument(
      () => txnCommand(txnRequest({ compares: four.map((key) => versionCompare(key, 1, 0n)) }), limits, now),
      'request.compares',
    );
    expectInvalidArgument(
      () => txnCommand(txnRequest({ success: four.map((key) => txnDelete(key)) }), limits, now),
      'request.success',
    );
    expectInvalidArgument(
      () => txnCommand(txnRequest({ failure: four.map((key) => txnPut(key, 'v')) }), limits, now),
      'request.failure',
    );
    expect(
      txnCommand(txnRequest({ success: four.slice(1).map((key) => txnDelete(key)) }), limits, now).command.body,
    ).toMatchObject({ type: 'txn' });
  });

  it('refuses the same key twice in a branch, naming the second op, but allows it across branches', () => {
    const message = expectInvalidArgument(
      () => txnCommand(txnRequest({ success: [txnPut('a', 'x'), txnPut('b', 'y'), txnDelete('a')] }), limits, now),
      'request.success[2].delete.key',
    );
    expect(message).toContain('request.success[0]');
    expectInvalidArgument(
      () => txnCommand(txnRequest({ failure: [txnDelete('a'), txnPut('a', 'y')] }), limits, now),
      'request.failure[1].put.key',
    );
    expect(
      txnCommand(txnRequest({ success: [txnPut('a', 'x')], failure: [txnPut('a', 'y')] }), limits, now).command.body,
    ).toMatchObject({ type: 'txn' });
  });

  it('refuses bad op keys and values, naming the op and its case', () => {
    expectInvalidArgument(
      () => txnCommand(txnRequest({ success: [txnPut('a', 'x'), txnPut('', 'y')] }), limits, now),
      'request.success[1].put.key',
    );
    expectInvalidArgument(
      () =>
        txnCommand(
          txnRequest({ success: [txnPut('a', 'x'), txnPut('b', 'y'), txnPut('c', 'z'.repeat(17))] }),
          limits,
          now,
        ),
      'request.success[2].put.value',
    );
    expectInvalidArgument(
      () => txnCommand(txnRequest({ failure: [txnDelete('123456789')] }), limits, now),
      'request.failure[0].delete.key',
    );
    expectInvalidArgument(
      () => txnCommand(txnRequest({ failure: [txnDelete('\ud800')] }), limits, now),
      'request.failure[0].delete.key',
    );
    expectInvalidArgument(
      () => txnCommand(txnRequest({ success: [{ op: undefined }] }), limits, now),
      'request.success[0].op',
    );
  });

  it('refuses an expected version, durability, fence or request id on an op inside a transaction', () => {
    const success = (op: kvV1.TxnOp) => () => txnCommand(txnRequest({ success: [op] }), limits, now);
    expectInvalidArgument(
      success(txnPut('a', 'x', { expectedVersion: 0n })),
      'request.success[0].put.expected_version',
    );
    expectInvalidArgument(
      success(txnDelete('a', { expectedVersion: 2n })),
      'request.success[0].delete.expected_version',
    );
    expectInvalidArgument(
      success(txnPut('a', 'x', { durability: Durability.DURABILITY_SYNC })),
      'request.success[0].put.durability',
    );
    expectInvalidArgument(
      success(txnDelete('a', { fence: { lockName: 'l', token: 1n } })),
      'request.success[0].delete.fence',
    );
    expectInvalidArgument(success(txnPut('a', 'x', { requestId: 'r' })), 'request.success[0].put.request_id');
  });

  it('checks the transaction durability, fence and request id', () => {
    expectInvalidArgument(
      () => txnCommand(txnRequest({ durability: undefinedEnum(4) }), limits, now),
      'request.durability',
    );
    expectInvalidArgument(
      () => txnCommand(txnRequest({ fence: { lockName: '', token: 1n } }), limits, now),
      'request.fence.lock_name',
    );
    expectInvalidArgument(
      () => txnCommand(txnRequest({ fence: { lockName: 'l', token: 0n } }), limits, now),
      'request.fence.token',
    );
    expectInvalidArgument(() => txnCommand(txnRequest({ requestId: '\ud800x' }), limits, now), 'request.request_id');
  });

  it('throws only InvalidArgumentError for bad input', () => {
    expect(() => txnCommand(txnRequest({ compares: [versionCompare('', 1, 0n)] }), limits, now)).toThrow(
      InvalidArgumentError,
    );
  });
});

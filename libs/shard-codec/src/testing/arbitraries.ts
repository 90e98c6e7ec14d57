// fast-check arbitraries: kv-state Commands of every shape the types allow
// (also ones the state machine refuses: the log must carry them faithfully),
// and shard.v1 write requests near the edges of small limits, valid or not.
import fc from 'fast-check';
import { kvV1, type shardV1 } from '@bulwark/contracts';
import type { Command, CommandBody, Compare, Fence, Op } from '@bulwark/kv-state';

const uint64Max = (1n << 64n) - 1n;

/** Well-formed strings of any code points, astral ones included. */
const anyText = fc.string({ unit: 'binary', maxLength: 6 });
const anyUint64 = fc.oneof(fc.bigInt({ min: 0n, max: 5n }), fc.bigInt({ min: 0n, max: uint64Max }));
const anyBytes = fc.uint8Array({ maxLength: 8 });

function withOptional<T extends object, K extends string, V>(base: T, name: K, value: V | undefined) {
  return value === undefined ? base : { ...base, [name]: value };
}

const anyOp: fc.Arbitrary<Op> = fc
  .tuple(fc.boolean(), anyText, anyBytes, fc.option(anyUint64, { nil: undefined }))
  .map(([isPut, key, value, expectedVersion]) =>
    withOptional(
      isPut ? { type: 'put' as const, key, value } : { type: 'delete' as const, key },
      'expectedVersion',
      expectedVersion,
    ),
  );

const anyCompare: fc.Arbitrary<Compare> = fc.oneof(
  fc
    .tuple(anyText, fc.constantFrom('eq', 'ne', 'lt', 'gt' as const), anyUint64)
    .map(([key, op, version]): Compare => ({ key, target: 'version', op, version })),
  fc
    .tuple(anyText, fc.constantFrom('eq', 'ne' as const), anyBytes)
    .map(([key, op, value]): Compare => ({ key, target: 'value', op, value })),
);

const anyBody: fc.Arbitrary<CommandBody> = fc.oneof(
  fc.constant({ type: 'noop' as const }),
  anyOp.map((op) => ({ type: 'op' as const, op })),
  fc
    .tuple(fc.array(anyCompare, { maxLength: 3 }), fc.array(anyOp, { maxLength: 3 }), fc.array(anyOp, { maxLength: 3 }))
    .map(([compares, success, failure]) => ({ type: 'txn' as const, compares, success, failure })),
);

const anyFence: fc.Arbitrary<Fence> = fc.record({ lockName: anyText, token: anyUint64 });

/** Any Command the types allow, refused by kv-state or not. */
export const anyCommandArbitrary: fc.Arbitrary<Command> = fc
  .tuple(anyText, anyUint64, fc.option(anyFence, { nil: undefined }), anyBody)
  .map(([requestId, writtenUnixMs, fence, body]) => withOptional({ requestId, writtenUnixMs, body }, 'fence', fence));

/** The limits the edge arbitraries below are built around. */
export const edgeLimits = { keyBytesMax: 6, valueBytesMax: 8, txnOpsMax: 3, lockNameBytesMax: 5 } as const;

/** Mostly one of `valid`, now and then (1 in 16) one of `invalid`: each request then has a fair chance to pass. */
function mostly<T>(valid: readonly T[], invalid: readonly T[]): fc.Arbitrary<T> {
  return fc.oneof(
    { weight: 15, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constantFrom(...invalid) },
  );
}

/** Keys around keyBytesMax 6: at it and over it in UTF-8 bytes, empty, with a NUL, with lone surrogates. */
const edgeKey = mostly(['a', 'b', 'ab', '123456', 'éé', '😀', 'a\u0000'], ['', '1234567', 'ééé€', 'a\ud800', '\udc00']);
/** Values around valueBytesMax 8. */
const edgeValue = mostly([0, 1, 2, 8], [9]).map((length) => Buffer.alloc(length, 0x61));
/** Request ids around 128 bytes of UTF-8. */
const edgeRequestId = mostly(
  ['', '', 'r1', 'r2', 'r'.repeat(128), 'é'.repeat(64)],
  ['r'.repeat(129), 'é'.repeat(65), 'r\ud800'],
);
const edgeFence = fc.option(
  fc.record({
    lockName: mostly(['l', 'm', '12345'], ['', '123456', 'l\udfff']),
    token: mostly([1n, 2n, 3n, uint64Max], [0n]),
  }),
  { nil: undefined, freq: 2 },
);
const edgeDurability = mostly([0, 1, 2], [3, -1]) as fc.Arbitrary<kvV1.Durability>;
const edgeExpectedVersion = fc.option(fc.constantFrom(0n, 1n, 2n, uint64Max), { nil: undefined, freq: 2 });
/** Which field of a transaction op, if any, is set though it belongs to the transaction. */
const edgeOpExtra = mostly(
  ['none'] as const,
  ['expectedVersion', 'durability', 'fence', 'requestId', 'unset'] as const,
);

export const edgePutRequest: fc.Arbitrary<shardV1.PutRequest> = fc
  .record({
    key: edgeKey,
    value: edgeValue,
    expectedVersion: edgeExpectedVersion,
    durability: edgeDurability,
    fence: edgeFence,
    requestId: edgeRequestId,
  })
  .map((request) => ({ groupId: 'g1', request }));

export const edgeDeleteRequest: fc.Arbitrary<shardV1.DeleteRequest> = fc
  .record({
    key: edgeKey,
    expectedVersion: edgeExpectedVersion,
    durability: edgeDurability,
    fence: edgeFence,
    requestId: edgeRequestId,
  })
  .map((request) => ({ groupId: 'g1', request }));

const edgeTxnOp: fc.Arbitrary<kvV1.TxnOp> = fc
  .tuple(fc.boolean(), edgeKey, edgeValue, edgeOpExtra)
  .map(([isPut, key, value, extra]): kvV1.TxnOp => {
    if (extra === 'unset') return { op: undefined };
    const fields = {
      key,
      expectedVersion: extra === 'expectedVersion' ? 1n : undefined,
      durability: extra === 'durability' ? kvV1.Durability.DURABILITY_SYNC : kvV1.Durability.DURABILITY_UNSPECIFIED,
      fence: extra === 'fence' ? { lockName: 'l', token: 1n } : undefined,
      requestId: extra === 'requestId' ? 'r' : '',
    };
    return isPut ? { op: { $case: 'put', put: { ...fields, value } } } : { op: { $case: 'delete', delete: fields } };
  });

const edgeCompare: fc.Arbitrary<kvV1.Compare> = fc.record({
  key: edgeKey,
  target: mostly([1, 2], [0, 3]) as fc.Arbitrary<kvV1.CompareTarget>,
  // LESS and GREATER are valid for versions only.
  operator: mostly([1, 1, 2, 2, 3, 4], [0, 5]) as fc.Arbitrary<kvV1.CompareOperator>,
  version: fc.constantFrom(0n, 1n, uint64Max),
  value: edgeValue,
});

/** Mostly up to txnOpsMax (3) entries, now and then one too many. */
function edgeList<T>(item: fc.Arbitrary<T>): fc.Arbitrary<T[]> {
  return fc.oneof(
    { weight: 15, arbitrary: fc.array(item, { maxLength: edgeLimits.txnOpsMax }) },
    {
      weight: 1,
      arbitrary: fc.array(item, { minLength: edgeLimits.txnOpsMax + 1, maxLength: edgeLimits.txnOpsMax + 1 }),
    },
  );
}

function keyOf(op: kvV1.TxnOp): string | undefined {
  return op.op?.$case === 'put' ? op.op.put.key : op.op?.$case === 'delete' ? op.op.delete.key : undefined;
}

/** A branch of ops on distinct keys, now and then one that writes a key twice. */
const edgeBranch = fc
  .tuple(edgeList(edgeTxnOp), mostly([false], [true]))
  .map(([ops, keepRepeats]) =>
    keepRepeats ? ops : ops.filter((op, index) => ops.findIndex((other) => keyOf(other) === keyOf(op)) === index),
  );

export const edgeTxnRequest: fc.Arbitrary<shardV1.TxnRequest> = fc
  .record({
    compares: edgeList(edgeCompare),
    success: edgeBranch,
    failure: edgeBranch,
    durability: edgeDurability,
    fence: edgeFence,
    requestId: edgeRequestId,
  })
  .map((request) => ({ groupId: 'g1', request }));

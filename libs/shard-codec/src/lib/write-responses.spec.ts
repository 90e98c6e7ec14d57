import { kvV1 } from '@bulwark/contracts';
import {
  type BulwarkError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  ResourceExhaustedError,
} from '@bulwark/errors';
import { type Command, kvLimits, KvState, type Outcome, type RefusedOutcome } from '@bulwark/kv-state';
import { deleteRequest, putRequest, responseHeader, txnDelete, txnPut, txnRequest, versionCompare } from '../testing';
import { deleteResponse, putResponse, refusalError, txnResponse } from './write-responses';
import { deleteCommand, putCommand, txnCommand } from './write-requests';

const limits = kvLimits({ totalBytesMax: 64, fenceNamesMax: 1 });
const header = responseHeader(11n);
const { CompareOperator: Operator } = kvV1;

/** A state and a sequence counter: apply(command) gives the outcome the group would. */
function group() {
  const state = new KvState(limits);
  let sequence = 0n;
  return { state, apply: (command: Command): Outcome => state.apply(++sequence, command) };
}

const put = (overrides: Parameters<typeof putRequest>[0] = {}) => putCommand(putRequest(overrides), limits, 1n).command;
const del = (overrides: Parameters<typeof deleteRequest>[0] = {}) =>
  deleteCommand(deleteRequest(overrides), limits, 1n).command;
const txn = (overrides: Parameters<typeof txnRequest>[0] = {}) => txnCommand(txnRequest(overrides), limits, 1n).command;

function thrown(run: () => unknown): BulwarkError {
  try {
    run();
  } catch (error) {
    return error as BulwarkError;
  }
  throw new Error('expected a throw');
}

function expectThrown(run: () => unknown, type: abstract new (...args: never[]) => BulwarkError, field: string) {
  const error = thrown(run);
  expect(error).toBeInstanceOf(type);
  expect(error.details.field).toBe(field);
  return error;
}

const refusal = (code: RefusedOutcome['code'], field: string, message = 'is wrong'): RefusedOutcome => ({
  kind: 'refused',
  code,
  field,
  message,
});

describe('putResponse', () => {
  it('answers a written put with its version and the header', () => {
    const { apply } = group();
    expect(putResponse(apply(put({ key: 'a' })), header)).toEqual({
      response: { header, succeeded: true, version: 1n, current: undefined },
    });
    expect(putResponse(apply(put({ key: 'a' })), header).response?.version).toBe(2n);
  });

  it('answers a failed compare-and-set with the version there now and the key as stored', () => {
    const { state, apply } = group();
    apply(put({ key: 'a', value: Buffer.from('first') }));
    const outcome = apply(put({ key: 'a', expectedVersion: 0n }));
    const response = putResponse(outcome, header, state.get('a'))?.response;
    expect(response?.succeeded).toBe(false);
    expect(response?.version).toBe(1n);
    expect(response?.current).toEqual({ key: 'a', value: Buffer.from('first'), version: 1n, modSequence: 1n });
  });

  it('leaves current unset when the key changed since the outcome, or is absent', () => {
    const { state, apply } = group();
    apply(put({ key: 'a' }));
    const outcome = apply(put({ key: 'a', expectedVersion: 5n }));
    apply(put({ key: 'a' }));
    const later = putResponse(outcome, header, state.get('a')).response;
    expect(later?.current).toBeUndefined();
    expect(later?.version).toBe(1n);
    const absent = putResponse(apply(put({ key: 'b', expectedVersion: 1n })), header, state.get('b')).response;
    expect(absent).toMatchObject({ succeeded: false, version: 0n, current: undefined });
  });

  it('never sends current with a put that succeeded', () => {
    const { state, apply } = group();
    expect(putResponse(apply(put({ key: 'a' })), header, state.get('a')).response?.current).toBeUndefined();
  });

  it('throws a stale fence token as FailedPreconditionError naming request.fence.token', () => {
    const { apply } = group();
    apply(put({ fence: { lockName: 'l', token: 5n } }));
    const outcome = apply(put({ fence: { lockName: 'l', token: 4n } }));
    const error = expectThrown(() => putResponse(outcome, header), FailedPreconditionError, 'request.fence.token');
    expect(error.message).toMatch(/^request\.fence\.token: token 4 is below 5/);
  });

  it('throws the state bounds as ResourceExhaustedError naming request.value or request.fence.lock_name', () => {
    const { apply } = group();
    const full = apply(put({ key: 'a', value: Buffer.alloc(64) }));
    expectThrown(() => putResponse(full, header), ResourceExhaustedError, 'request.value');
    apply(put({ fence: { lockName: 'l', token: 1n } }));
    const names = apply(put({ fence: { lockName: 'm', token: 1n } }));
    expectThrown(() => putResponse(names, header), ResourceExhaustedError, 'request.fence.lock_name');
  });

  it('throws an invalid-argument refusal as InvalidArgumentError with the request path', () => {
    for (const field of ['key', 'value', 'expected_version', 'request_id', 'fence', 'fence.lock_name']) {
      expectThrown(
        () => putResponse(refusal('invalid-argument', field), header),
        InvalidArgumentError,
        `request.${field}`,
      );
    }
  });

  it('throws a refusal of a field no caller sets as InternalError', () => {
    const error = thrown(() => putResponse(refusal('invalid-argument', 'written_unix_ms', 'must be a bigint'), header));
    expect(error).toBeInstanceOf(InternalError);
    expect(error.message).toContain('written_unix_ms: must be a bigint');
    expect(thrown(() => putResponse(refusal('invalid-argument', 'body'), header))).toBeInstanceOf(InternalError);
  });

  it('throws an outcome of another kind as FailedPreconditionError naming request.request_id', () => {
    const { apply } = group();
    const first = apply(txn({ requestId: 'same', success: [txnPut('a', 'x')] }));
    const retry = apply(put({ requestId: 'same' }));
    expect(retry).toBe(first);
    const error = expectThrown(() => putResponse(retry, header), FailedPreconditionError, 'request.request_id');
    expect(error.message).toContain('already used by a different request');
    expectThrown(() => putResponse({ kind: 'noop' }, header), FailedPreconditionError, 'request.request_id');
  });
});

describe('deleteResponse', () => {
  it('says whether the delete removed a key', () => {
    const { apply } = group();
    apply(put({ key: 'a' }));
    expect(deleteResponse(apply(del({ key: 'a' })), header)).toEqual({
      response: { header, succeeded: true, existed: true },
    });
    expect(deleteResponse(apply(del({ key: 'a' })), header).response).toMatchObject({
      succeeded: true,
      existed: false,
    });
  });

  it('answers a version mismatch with succeeded false, existed false', () => {
    const { apply } = group();
    apply(put({ key: 'a' }));
    expect(deleteResponse(apply(del({ key: 'a', expectedVersion: 2n })), header).response).toMatchObject({
      succeeded: false,
      existed: false,
    });
  });

  it('throws refusals and outcomes of another kind', () => {
    expectThrown(
      () => deleteResponse(refusal('failed-precondition', 'fence.token'), header),
      FailedPreconditionError,
      'request.fence.token',
    );
    expectThrown(
      () => deleteResponse({ kind: 'txn', succeeded: true, results: [] }, header),
      FailedPreconditionError,
      'request.request_id',
    );
  });
});

describe('txnResponse', () => {
  it('answers the success branch with each op key, version and whether it existed', () => {
    const { apply } = group();
    apply(put({ key: 'b' }));
    const command = txn({
      compares: [versionCompare('b', Operator.COMPARE_OPERATOR_EQUAL, 1n)],
      success: [txnPut('a', 'x'), txnPut('b', 'y'), txnDelete('c')],
      failure: [txnDelete('b')],
    });
    expect(txnResponse(apply(command), header, command)).toEqual({
      response: {
        header,
        succeeded: true,
        results: [
          { key: 'a', version: 1n, existed: false },
          { key: 'b', version: 2n, existed: true },
          { key: 'c', version: 0n, existed: false },
        ],
      },
    });
  });

  it('answers the failure branch when a compare fails', () => {
    const { apply } = group();
    apply(put({ key: 'b' }));
    const command = txn({
      compares: [versionCompare('b', Operator.COMPARE_OPERATOR_GREATER, 1n)],
      success: [txnPut('a', 'x')],
      failure: [txnDelete('b'), txnPut('d', 'z')],
    });
    expect(txnResponse(apply(command), header, command).response).toEqual({
      header,
      succeeded: false,
      results: [
        { key: 'b', version: 0n, existed: true },
        { key: 'd', version: 1n, existed: false },
      ],
    });
  });

  it('names a refused op by its branch, index and case', () => {
    const { apply } = group();
    const command = txn({ success: [txnDelete('a'), txnPut('b', 'x'.repeat(70))] });
    expectThrown(
      () => txnResponse(apply(command), header, command),
      ResourceExhaustedError,
      'request.success[1].put.value',
    );
    expectThrown(
      () => txnResponse(refusal('invalid-argument', 'txn.success[0].key'), header, command),
      InvalidArgumentError,
      'request.success[0].delete.key',
    );
    expectThrown(
      () => txnResponse(refusal('invalid-argument', 'txn.failure[2].expected_version'), header, command),
      InvalidArgumentError,
      'request.failure[2]',
    );
    expectThrown(
      () => txnResponse(refusal('invalid-argument', 'txn.compares[3].op'), header, command),
      InvalidArgumentError,
      'request.compares[3].operator',
    );
    expectThrown(
      () => txnResponse(refusal('invalid-argument', 'txn.compares[0].value'), header, command),
      InvalidArgumentError,
      'request.compares[0].value',
    );
    expectThrown(
      () => txnResponse(refusal('invalid-argument', 'txn.failure'), header, command),
      InvalidArgumentError,
      'request.failure',
    );
    expectThrown(
      () => txnResponse(refusal('failed-precondition', 'fence.token'), header, command),
      FailedPreconditionError,
      'request.fence.token',
    );
  });

  it('throws an outcome of another kind, or of another transaction, as a reused request id', () => {
    const { apply } = group();
    const command = txn({ requestId: 'same', success: [txnPut('a', 'x')] });
    const first = apply(put({ requestId: 'same' }));
    expect(apply(command)).toBe(first);
    expectThrown(() => txnResponse(first, header, command), FailedPreconditionError, 'request.request_id');
    const otherTxn: Outcome = { kind: 'txn', succeeded: true, results: [] };
    expectThrown(() => txnResponse(otherTxn, header, command), FailedPreconditionError, 'request.request_id');
  });

  it('needs the transaction command', () => {
    expect(() => txnResponse({ kind: 'txn', succeeded: true, results: [] }, header, put())).toThrow(RangeError);
  });
});

describe('refusalError', () => {
  it('names a transaction op without its command as the op, keeping its field in the message', () => {
    const error = refusalError(refusal('invalid-argument', 'txn.success[1].key', 'must not be empty'));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.details.field).toBe('request.success[1]');
    expect(error.message).toBe('request.success[1]: key must not be empty');
    expect(refusalError(refusal('resource-exhausted', 'txn.failure[0].value')).details.field).toBe(
      'request.failure[0].put.value',
    );
  });

  it('marks a state refusal of a bound not retryable: the store must change first', () => {
    expect(refusalError(refusal('resource-exhausted', 'txn.failure[0].value')).retryable).toBe(false);
  });

  it("marks every refusal of the state machine decided (final about the write), never the core's own bugs", () => {
    for (const code of ['invalid-argument', 'failed-precondition', 'resource-exhausted'] as const) {
      expect(refusalError(refusal(code, 'txn.failure[0].value')).details.decided).toBe(true);
    }
    expect(refusalError(refusal('invalid-argument', 'term', 'unknown')).details.decided).toBeUndefined();
  });
});

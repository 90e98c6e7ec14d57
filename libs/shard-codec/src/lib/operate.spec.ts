import { status } from '@grpc/grpc-js';
import { commonV1, type shardV1 } from '@bulwark/contracts';
import {
  asDecided,
  FailedPreconditionError,
  InvalidArgumentError,
  NotLeaderError,
  ResourceExhaustedError,
  UnavailableError,
  withRevision,
} from '@bulwark/errors';
import { expectInvalidArgument } from '@bulwark/errors/testing';
import { errorDetailTrailer, toStatus } from '@bulwark/rpc';
import { getRequest, putRequest } from '../testing';
import { checkOperateRequest, operationError } from './operate';

const operation = (id: bigint, request: shardV1.Operation['request'] = { $case: 'get', get: getRequest() }) => ({
  id,
  timeoutMs: 0,
  request,
  traceContext: undefined,
});

describe('checkOperateRequest', () => {
  it('accepts 1 to 1,024 operations with distinct ids, each with a request', () => {
    const one = { operations: [operation(1n, { $case: 'put', put: putRequest() })] };
    expect(checkOperateRequest(one)).toBe(one.operations);
    const full = { operations: Array.from({ length: 1024 }, (_, index) => operation(BigInt(index))) };
    expect(checkOperateRequest(full)).toHaveLength(1024);
  });

  it('refuses an empty batch and one over 1,024 operations', () => {
    expectInvalidArgument(() => checkOperateRequest({ operations: [] }), 'operations');
    const over = { operations: Array.from({ length: 1025 }, (_, index) => operation(BigInt(index))) };
    expectInvalidArgument(() => checkOperateRequest(over), 'operations');
    expectInvalidArgument(() => checkOperateRequest(undefined as never), 'operations');
  });

  it('refuses an id used twice in the batch, naming the second', () => {
    const message = expectInvalidArgument(
      () => checkOperateRequest({ operations: [operation(1n), operation(2n), operation(3n), operation(2n)] }),
      'operations[3].id',
    );
    expect(message).toContain('operations[1]');
  });

  it('refuses an operation without a request', () => {
    expectInvalidArgument(
      () =>
        checkOperateRequest({
          operations: [operation(1n), { id: 2n, timeoutMs: 0, request: undefined, traceContext: undefined }],
        }),
      'operations[1].request',
    );
  });
});

describe('operationError', () => {
  const detailOf = (error: unknown) => {
    const trailer = toStatus(error).metadata.get(errorDetailTrailer)[0] as Buffer;
    return commonV1.ErrorDetail.decode(trailer);
  };

  it.each([
    ['invalid argument', new InvalidArgumentError('request.key', 'must not be empty'), status.INVALID_ARGUMENT],
    ['stale fence', new FailedPreconditionError('request.fence.token', 'is stale'), status.FAILED_PRECONDITION],
    ['not the primary', new NotLeaderError('r2', '127.77.0.2:7100'), status.FAILED_PRECONDITION],
    ['full', new ResourceExhaustedError('in_flight', 'over 1024'), status.RESOURCE_EXHAUSTED],
    ['no lease', new UnavailableError('no lease'), status.UNAVAILABLE],
  ])('answers %s as the unary call would', (_name, error, code) => {
    const answer = operationError(error);
    expect(answer.code).toBe(code);
    expect(answer.message).toBe(error.message);
    expect(answer.detail).toEqual(detailOf(error));
  });

  it('carries the field, leader hint, retryability, kind and whether the state machine decided in the detail', () => {
    expect(operationError(new InvalidArgumentError('request.key', 'empty')).detail).toEqual({
      field: 'request.key',
      leaderId: '',
      leaderAddress: '',
      retryable: false,
      kind: 'invalid-argument',
      revision: 0n,
      decided: false,
    });
    expect(operationError(asDecided(new FailedPreconditionError('request.fence.token', 'low'))).detail).toMatchObject({
      field: 'request.fence.token',
      decided: true,
    });
    expect(operationError(withRevision(new NotLeaderError('r2', '127.77.0.2:7100'), 12n)).detail).toMatchObject({
      leaderId: 'r2',
      leaderAddress: '127.77.0.2:7100',
      retryable: true,
      kind: 'not-leader',
      revision: 12n,
    });
  });

  it('answers an error outside the domain as INTERNAL without leaking its message', () => {
    expect(operationError(new TypeError('x is undefined'))).toEqual({
      code: status.INTERNAL,
      message: 'internal error',
      detail: undefined,
    });
  });
});

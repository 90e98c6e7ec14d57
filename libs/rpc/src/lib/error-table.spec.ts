import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  BulwarkError,
  errorKinds,
  FailedPreconditionError,
  InvalidArgumentError,
  NotLeaderError,
  restoreError,
  UnavailableError,
  withRevision,
} from '@bulwark/errors';
import { codeByKind, errorDetailTrailer, fromServiceError, toStatus } from './error-table';

function asServiceError(error: unknown): ServiceError {
  const result = toStatus(error);
  return Object.assign(new Error(`${result.code} ${result.details}`), {
    code: result.code,
    details: result.details,
    metadata: result.metadata,
  });
}

describe('error table', () => {
  it('maps every kind to one status code', () => {
    expect(errorKinds.every((kind) => typeof codeByKind[kind] === 'number')).toBe(true);
    expect(toStatus(new InvalidArgumentError('key', 'empty')).code).toBe(status.INVALID_ARGUMENT);
    expect(toStatus(new NotLeaderError('c2')).code).toBe(status.FAILED_PRECONDITION);
    expect(toStatus(new UnavailableError('no quorum')).code).toBe(status.UNAVAILABLE);
  });

  it('maps errors outside the domain to INTERNAL without leaking their message', () => {
    const result = toStatus(new TypeError('x is undefined'));
    expect(result).toMatchObject({ code: status.INTERNAL, details: 'internal error', unmapped: true });
  });

  it('round-trips kind, message, field, leader hint and retryability', () => {
    for (const kind of errorKinds) {
      const original = restoreError(kind, `${kind} happened`, kind === 'unavailable', { field: 'f' });
      const restored = fromServiceError(asServiceError(original));
      expect(restored.kind).toBe(kind);
      expect(restored.message).toBe(`${kind} happened`);
      expect(restored.details.field).toBe('f');
      expect(restored.retryable).toBe(kind === 'unavailable');
      expect(restored).toBeInstanceOf(original.constructor);
    }
    const leader = fromServiceError(asServiceError(new NotLeaderError('c3', '127.0.0.1:7003')));
    expect(leader).toBeInstanceOf(NotLeaderError);
    expect(leader.details).toEqual({ leaderId: 'c3', leaderAddress: '127.0.0.1:7003' });
    const behind = fromServiceError(asServiceError(withRevision(new NotLeaderError('r2'), 41n)));
    expect(behind.details).toEqual({ leaderId: 'r2', revision: 41n });
  });

  it('falls back to the status code for peers that send no detail', () => {
    const bare = (code: status): ServiceError =>
      Object.assign(new Error('x'), { code, details: 'from elsewhere', metadata: new Metadata() });
    expect(fromServiceError(bare(status.UNAVAILABLE))).toBeInstanceOf(UnavailableError);
    expect(fromServiceError(bare(status.UNAVAILABLE)).retryable).toBe(true);
    expect(fromServiceError(bare(status.FAILED_PRECONDITION))).toBeInstanceOf(FailedPreconditionError);
    // gRPC's own RESOURCE_EXHAUSTED (a message over the receive limit) fails the same way again.
    expect(fromServiceError(bare(status.RESOURCE_EXHAUSTED)).retryable).toBe(false);
    const unknown = fromServiceError(bare(status.DATA_LOSS));
    expect(unknown).toBeInstanceOf(BulwarkError);
    expect(unknown.kind).toBe('internal');
    expect(unknown.message).toBe('DATA_LOSS: from elsewhere');
  });

  it('ignores a malformed detail trailer', () => {
    const metadata = new Metadata();
    metadata.set(errorDetailTrailer, Buffer.from([0xff, 0xff, 0xff]));
    const error = Object.assign(new Error('x'), { code: status.NOT_FOUND, details: 'gone', metadata });
    expect(fromServiceError(error).kind).toBe('not-found');
  });
});

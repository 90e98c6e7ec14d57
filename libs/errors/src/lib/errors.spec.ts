import {
  BulwarkError,
  InvalidArgumentError,
  NotLeaderError,
  UnavailableError,
  InternalError,
  isRetryable,
  restoreError,
  errorKinds,
  isErrorKind,
  asDecided,
  DeadlineExceededError,
  FailedPreconditionError,
  isDecided,
  writeOutcomeUnknown,
} from './errors';

describe('domain errors', () => {
  it('name the field in the message and details', () => {
    const error = new InvalidArgumentError('key', 'must not be empty');
    expect(error.message).toBe('key: must not be empty');
    expect(error.details.field).toBe('key');
    expect(error.kind).toBe('invalid-argument');
    expect(error).toBeInstanceOf(BulwarkError);
    expect(error.name).toBe('InvalidArgumentError');
  });

  it('carry a leader hint and are retryable when not leader', () => {
    const error = new NotLeaderError('c2', '127.0.0.1:7002');
    expect(error.message).toBe('not the leader; leader is c2 at 127.0.0.1:7002');
    expect(error.details).toEqual({ leaderId: 'c2', leaderAddress: '127.0.0.1:7002' });
    expect(isRetryable(error)).toBe(true);
    expect(new NotLeaderError().message).toBe('not the leader; leader unknown');
  });

  it('mark only transient failures retryable', () => {
    expect(isRetryable(new UnavailableError('no quorum'))).toBe(true);
    expect(isRetryable(new InvalidArgumentError('key', 'empty'))).toBe(false);
    expect(isRetryable(new InternalError('bug'))).toBe(false);
    expect(isRetryable(new Error('plain'))).toBe(false);
  });
});

describe('restoreError', () => {
  it('rebuilds an instance of the class for the kind with message and details as sent', () => {
    const error = restoreError('not-leader', 'not the leader; leader is c3', true, { leaderId: 'c3' });
    expect(error).toBeInstanceOf(NotLeaderError);
    expect(error.name).toBe('NotLeaderError');
    expect(error.message).toBe('not the leader; leader is c3');
    expect(error.details.leaderId).toBe('c3');
    expect(error.retryable).toBe(true);
  });

  it('knows every kind', () => {
    for (const kind of errorKinds) {
      expect(isErrorKind(kind)).toBe(true);
      expect(restoreError(kind, 'm', false, {}).kind).toBe(kind);
    }
    expect(isErrorKind('teapot')).toBe(false);
    expect(isErrorKind('toString')).toBe(false);
  });
});

describe('writeOutcomeUnknown and isDecided', () => {
  it('name the request id to retry with, and tell a decided refusal from others', () => {
    const cause = new UnavailableError('connection dropped');
    const unknown = writeOutcomeUnknown('kv.v1.KV/batchPut: an attempt went unanswered', 'job-1', cause, true);
    expect(unknown).toBeInstanceOf(DeadlineExceededError);
    expect(unknown.message).toBe(
      'kv.v1.KV/batchPut: an attempt went unanswered: the write may or may not have been applied; retry it with ' +
        'request_id "job-1" (and the batch\'s other ids) to learn its outcome (last: connection dropped)',
    );
    expect(unknown.cause).toBe(cause);
    expect(isDecided(asDecided(new FailedPreconditionError('fence.token', 'below 2')))).toBe(true);
    expect(isDecided(new FailedPreconditionError('group_id', 'stale ring'))).toBe(false);
    expect(isDecided(new Error('not ours'))).toBe(false);
  });
});

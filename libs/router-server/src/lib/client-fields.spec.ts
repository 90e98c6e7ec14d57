import {
  BulwarkError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotLeaderError,
  ResourceExhaustedError,
  UnavailableError,
  withRevision,
} from '@bulwark/errors';
import { asClientError, checkedAs } from './client-fields';

describe('asClientError', () => {
  it('renames request.key to key at the top level, keeping the error what it was', () => {
    const renamed = asClientError(new InvalidArgumentError('request.key', 'must not be empty'));
    expect(renamed).toBeInstanceOf(InvalidArgumentError);
    expect(renamed).toMatchObject({
      name: 'InvalidArgumentError',
      kind: 'invalid-argument',
      retryable: false,
      message: 'key: must not be empty',
      details: { field: 'key' },
    });
  });

  it('keeps request as request at the top level', () => {
    const renamed = asClientError(new InvalidArgumentError('request', 'is required'), '');
    expect(renamed).toBeInstanceOf(InvalidArgumentError);
    expect(renamed).toMatchObject({ message: 'request: is required', details: { field: 'request' } });
  });

  it('renames nested fields to start at the path, for a put in a batch', () => {
    const renamed = asClientError(
      new FailedPreconditionError('request.fence.token', 'is older than the lock holder', { retryable: true }),
      'puts[3]',
    );
    expect(renamed).toBeInstanceOf(FailedPreconditionError);
    expect(renamed).toMatchObject({
      kind: 'failed-precondition',
      retryable: true,
      message: 'puts[3].fence.token: is older than the lock holder',
      details: { field: 'puts[3].fence.token' },
    });
  });

  it('renames request itself to the path', () => {
    const renamed = asClientError(new InvalidArgumentError('request', 'is required'), 'puts[3]');
    expect(renamed).toMatchObject({ message: 'puts[3]: is required', details: { field: 'puts[3]' } });
  });

  it('keeps every other detail, a retryable kind included', () => {
    const original = withRevision(new ResourceExhaustedError('request.value', 'is over valueBytesMax'), 31n);
    const renamed = asClientError(original, 'puts[0]');
    expect(renamed).toBeInstanceOf(ResourceExhaustedError);
    expect(renamed).toMatchObject({
      kind: 'resource-exhausted',
      retryable: true,
      message: 'puts[0].value: is over valueBytesMax',
      details: { field: 'puts[0].value', revision: 31n },
    });
    // The original is not changed.
    expect(original.details.field).toBe('request.value');
  });

  it('renames the field but leaves a message that does not start with it', () => {
    const original = new BulwarkError('invalid-argument', 'the key is empty', false, { field: 'request.key' });
    const renamed = asClientError(original);
    expect(renamed).toBeInstanceOf(InvalidArgumentError);
    expect(renamed).toMatchObject({ message: 'the key is empty', details: { field: 'key' } });
  });

  it.each([
    ['a field outside the wrapper', new InvalidArgumentError('group_id', 'names another group')],
    ['a field that only starts with the same letters', new InvalidArgumentError('request_id', 'is too long')],
    ['a field under another name', new InvalidArgumentError('requests[0].key', 'must not be empty')],
    ['no field', new UnavailableError('no quorum')],
    ['a leader hint', new NotLeaderError('replica-2', 'replica-2:7100')],
  ])('returns an error with %s as it is', (_, error) => {
    expect(asClientError(error, 'puts[1]')).toBe(error);
    expect(asClientError(error)).toBe(error);
  });

  it.each([
    ['an Error', new Error('request.key: boom')],
    ['a string', 'request.key: boom'],
    ['undefined', undefined],
    ['an object with a field', { details: { field: 'request.key' } }],
  ])('returns %s, not a Bulwark error, as it is', (_, error) => {
    expect(asClientError(error)).toBe(error);
  });
});

describe('checkedAs', () => {
  it('returns what the check returns', () => {
    expect(checkedAs('puts[2]', () => 'checked')).toBe('checked');
  });

  it('rethrows what the check throws with client field names', () => {
    expect(() =>
      checkedAs('puts[2]', () => {
        throw new InvalidArgumentError('request.key', 'must not be empty');
      }),
    ).toThrow(new InvalidArgumentError('puts[2].key', 'must not be empty'));
  });

  it('rethrows anything else unchanged', () => {
    const failure = new TypeError('not a domain error');
    expect(() =>
      checkedAs('', () => {
        throw failure;
      }),
    ).toThrow(failure);
  });
});

import {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  NotLeaderError,
  ResourceExhaustedError,
  restoreError,
  UnavailableError,
} from '@bulwark/errors';
import { errorLine, ExitCode, exitCodeOf, UsageError } from './exit-codes';

describe('exit codes', () => {
  it('maps each status code of a typed error to its exit code', () => {
    const cases: Array<[Error, ExitCode]> = [
      [new InvalidArgumentError('key', 'must not be empty'), ExitCode.usage],
      [new UnavailableError('no leader'), ExitCode.unavailable],
      [new DeadlineExceededError('too slow'), ExitCode.unavailable],
      [new FailedPreconditionError('fence.token', 'token 1 is below 2'), ExitCode.failedPrecondition],
      // A follower's answer is FAILED_PRECONDITION on the wire.
      [new NotLeaderError('coordinator-2'), ExitCode.failedPrecondition],
      [new AbortedError('lost a race'), ExitCode.failedPrecondition],
      [new AlreadyExistsError('request_id', 'used for another request'), ExitCode.failedPrecondition],
      [new NotFoundError('group_id', "no group 'x'"), ExitCode.notFound],
      [new ResourceExhaustedError('queue', 'full'), ExitCode.error],
      [new CancelledError('closed'), ExitCode.error],
      [new InternalError('bug'), ExitCode.error],
      [new UsageError('txn line 2: unknown op "get"'), ExitCode.usage],
      [new Error('EPIPE'), ExitCode.error],
    ];
    for (const [error, code] of cases) expect(`${error.name} -> ${exitCodeOf(error)}`).toBe(`${error.name} -> ${code}`);
  });

  it('goes by the kind a remote error was rebuilt with, not its message', () => {
    const remote = restoreError('unavailable', 'not found anywhere', true, {});
    expect(exitCodeOf(remote)).toBe(ExitCode.unavailable);
  });

  it('reports an error in one line naming the gRPC status code', () => {
    expect(errorLine(new FailedPreconditionError('fence.token', 'token 1 is below 2'))).toBe(
      'bulwark: FAILED_PRECONDITION: fence.token: token 1 is below 2',
    );
    expect(errorLine(new UnavailableError('no router answered\n  last: ECONNREFUSED'))).toBe(
      'bulwark: UNAVAILABLE: no router answered last: ECONNREFUSED',
    );
    expect(errorLine(new UsageError('--to: needs a member id'))).toBe('bulwark: --to: needs a member id');
  });
});

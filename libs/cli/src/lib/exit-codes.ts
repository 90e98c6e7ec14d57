// What `bulwark` exits with, so scripts can tell a mistake in the command
// line from a cluster that cannot be reached from a condition that did not
// hold from something that is not there. Errors from the services are the
// typed errors of @bulwark/errors; their gRPC status code (the one table in
// @bulwark/rpc) decides, never their message text.
import { status } from '@grpc/grpc-js';
import { BulwarkError } from '@bulwark/errors';
import { codeByKind } from '@bulwark/rpc';

export const ExitCode = {
  ok: 0,
  /** Anything not below: INTERNAL, UNIMPLEMENTED, RESOURCE_EXHAUSTED, CANCELLED, a local failure. */
  error: 1,
  /** Bad arguments, an unknown command or option, INVALID_ARGUMENT. */
  usage: 2,
  /** No endpoint answered in time: UNAVAILABLE, DEADLINE_EXCEEDED. */
  unavailable: 3,
  /** A condition did not hold: FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS, a failed compare, a lock held or lost. */
  failedPrecondition: 4,
  /** What was asked for is not there: a missing key, a lock not held, NOT_FOUND. */
  notFound: 5,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit codes as `bulwark --help` and the README list them. */
export const exitCodesHelp = `Exit codes:
  0  success
  1  any other error
  2  usage error: bad arguments, unknown command or option, INVALID_ARGUMENT
  3  unavailable: no endpoint answered in time (UNAVAILABLE, DEADLINE_EXCEEDED)
  4  failed precondition: a compare-and-set or txn whose compares did not hold, a lock
     held by someone else or lost while hold ran its command, FAILED_PRECONDITION (a wrong
     epoch, a stale fencing token), ABORTED, ALREADY_EXISTS
  5  not found: get of a missing key, release of a lock not held, NOT_FOUND`;

/** A mistake in the command line that commander cannot see (a txn file's syntax, options that need each other). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const exitCodeByStatus: Partial<Record<status, ExitCode>> = {
  [status.INVALID_ARGUMENT]: ExitCode.usage,
  [status.UNAVAILABLE]: ExitCode.unavailable,
  [status.DEADLINE_EXCEEDED]: ExitCode.unavailable,
  [status.FAILED_PRECONDITION]: ExitCode.failedPrecondition,
  [status.ABORTED]: ExitCode.failedPrecondition,
  [status.ALREADY_EXISTS]: ExitCode.failedPrecondition,
  [status.NOT_FOUND]: ExitCode.notFound,
};

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError) return ExitCode.usage;
  if (error instanceof BulwarkError) return exitCodeByStatus[codeByKind[error.kind]] ?? ExitCode.error;
  return ExitCode.error;
}

/** An error in one line, naming its gRPC status code when it has one: `CODE: message`. */
export function describeError(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();
  return error instanceof BulwarkError ? `${status[codeByKind[error.kind]]}: ${message}` : message;
}

/** The line an error is reported with on stderr. */
export function errorLine(error: unknown): string {
  return `bulwark: ${describeError(error)}`;
}

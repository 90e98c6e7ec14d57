// Domain errors shared by every Bulwark lib. Cores throw these; the rpc kit
// maps each kind to one gRPC status code (see libs/rpc error table) and
// clients map codes back, so nobody matches message text.

/** What went wrong, independent of the transport. */
export type ErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'not-leader'
  | 'unavailable'
  | 'deadline-exceeded'
  | 'resource-exhausted'
  | 'unimplemented'
  | 'aborted'
  | 'cancelled'
  | 'internal';

export interface ErrorDetails {
  /** The request field (or config variable) at fault, dotted for nested fields. */
  field?: string;
  /** The member believed to lead, for not-leader errors. */
  leaderId?: string;
  /** Where that leader serves. */
  leaderAddress?: string;
  /** The coordinator metadata revision the responder acted under: a caller with an older topology catches up first. */
  revision?: bigint;
  /** A replica group's state machine gave this answer to the write's request id: final, the write was not applied. */
  decided?: boolean;
  /**
   * No Bulwark error detail came with the status: the client's gRPC library
   * made it (a dropped or refused connection) or the server failed outside
   * Bulwark's errors. Either way a request may have been sent and not answered.
   */
  withoutDetail?: boolean;
}

/** Base of every domain error: a kind, whether a retry may succeed, and details. */
export class BulwarkError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly retryable: boolean,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A request field is malformed, empty, oversized or out of range. */
export class InvalidArgumentError extends BulwarkError {
  constructor(field: string, problem: string) {
    super('invalid-argument', `${field}: ${problem}`, false, { field });
  }
}

/** A named thing (group, member, lock) does not exist. */
export class NotFoundError extends BulwarkError {
  constructor(field: string, problem: string) {
    super('not-found', `${field}: ${problem}`, false, { field });
  }
}

/** A thing to be created exists already. */
export class AlreadyExistsError extends BulwarkError {
  constructor(field: string, problem: string) {
    super('already-exists', `${field}: ${problem}`, false, { field });
  }
}

/**
 * The system is not in the state the request needs (wrong epoch, stale
 * revision). Retryable when the state changes by itself (a lease that runs
 * out), not when someone must act first.
 */
export class FailedPreconditionError extends BulwarkError {
  constructor(field: string, problem: string, options: { retryable?: boolean } = {}) {
    super('failed-precondition', `${field}: ${problem}`, options.retryable ?? false, { field });
  }
}

/** This member does not lead; retry at the hinted leader. */
export class NotLeaderError extends BulwarkError {
  constructor(leaderId?: string, leaderAddress?: string) {
    const hint = leaderId
      ? `; leader is ${leaderId}${leaderAddress ? ` at ${leaderAddress}` : ''}`
      : '; leader unknown';
    super('not-leader', `not the leader${hint}`, true, { leaderId, leaderAddress });
  }
}

/** A dependency cannot be reached now (no leader, no quorum, shutting down). */
export class UnavailableError extends BulwarkError {
  constructor(problem: string) {
    super('unavailable', problem, true);
  }
}

/** The caller's deadline passed; the outcome of a write is unknown. */
export class DeadlineExceededError extends BulwarkError {
  constructor(problem: string) {
    super('deadline-exceeded', problem, true);
  }
}

/**
 * A stated bound (queue, batch, in-flight limit) is full. Retryable when it
 * empties by itself (a queue drains); not when only someone's action frees
 * it (a full store, too many names).
 */
export class ResourceExhaustedError extends BulwarkError {
  constructor(limit: string, problem: string, options: { retryable?: boolean } = {}) {
    super('resource-exhausted', `${limit}: ${problem}`, options.retryable ?? true, { field: limit });
  }
}

/** The method exists in the contract but this build does not serve it yet. */
export class UnimplementedError extends BulwarkError {
  constructor(method: string) {
    super('unimplemented', `${method} is not implemented by this service`, false);
  }
}

/** The operation lost a race (concurrent change) and may be retried. */
export class AbortedError extends BulwarkError {
  constructor(problem: string) {
    super('aborted', problem, true);
  }
}

/** The caller cancelled. */
export class CancelledError extends BulwarkError {
  constructor(problem: string) {
    super('cancelled', problem, false);
  }
}

/** A bug or an unexpected failure; never retried automatically. */
export class InternalError extends BulwarkError {
  constructor(problem: string) {
    super('internal', problem, false);
  }
}

/**
 * Stamps a domain error with the topology revision its responder acted
 * under (keeping one already there), so the caller can tell that its own
 * copy is behind; anything else is returned as it is.
 */
export function withRevision<E>(error: E, revision: bigint): E {
  if (error instanceof BulwarkError && error.details.revision === undefined && revision > 0n) {
    error.details.revision = revision;
  }
  return error;
}

/** Whether a retry policy may try the failed operation again. */
export function isRetryable(error: unknown): boolean {
  return error instanceof BulwarkError && error.retryable;
}

const classByKind: Record<ErrorKind, { prototype: BulwarkError }> = {
  'invalid-argument': InvalidArgumentError,
  'not-found': NotFoundError,
  'already-exists': AlreadyExistsError,
  'failed-precondition': FailedPreconditionError,
  'not-leader': NotLeaderError,
  unavailable: UnavailableError,
  'deadline-exceeded': DeadlineExceededError,
  'resource-exhausted': ResourceExhaustedError,
  unimplemented: UnimplementedError,
  aborted: AbortedError,
  cancelled: CancelledError,
  internal: InternalError,
};

export const errorKinds = Object.keys(classByKind) as ErrorKind[];

export function isErrorKind(value: string): value is ErrorKind {
  return Object.hasOwn(classByKind, value);
}

/**
 * The error of a write that may or may not have been applied (`why` says
 * what left it so), naming the request id that learns its outcome when the
 * write is sent again; `last` is the failure that ended the call.
 */
export function writeOutcomeUnknown(
  why: string,
  requestId: string,
  last: unknown,
  batch = false,
): DeadlineExceededError {
  const lastText = last instanceof Error ? last.message : String(last);
  return Object.assign(
    new DeadlineExceededError(
      `${why}: the write may or may not have been applied; retry it with request_id ${JSON.stringify(requestId)}` +
        `${batch ? " (and the batch's other ids)" : ''} to learn its outcome (last: ${lastText})`,
    ),
    { cause: last },
  );
}

/** Whether error is final about its write (ErrorDetails.decided), whatever earlier attempts of it did. */
export function isDecided(error: unknown): boolean {
  return error instanceof BulwarkError && error.details.decided === true;
}

/**
 * error, marked as the final answer a replica group's state machine gave
 * its write's request id (ErrorDetails.decided): a caller unsure whether an
 * earlier attempt took effect learns here that none did.
 */
export function asDecided<E extends BulwarkError>(error: E): E {
  error.details.decided = true;
  return error;
}

/**
 * Rebuilds a domain error received from another process (kind, message and
 * details as sent), as an instance of the class for its kind, so callers can
 * use instanceof on errors from remote calls too.
 */
export function restoreError(
  kind: ErrorKind,
  message: string,
  retryable: boolean,
  details: ErrorDetails,
): BulwarkError {
  const error = new BulwarkError(kind, message, retryable, details);
  const type = classByKind[kind];
  Object.setPrototypeOf(error, type.prototype);
  error.name = type.prototype.constructor.name;
  return error;
}

// The one table from domain errors to gRPC status codes, and back. Servers
// send the kind and details in the `bulwark-error-bin` trailer; clients
// rebuild the typed error from it, or from the code alone when the peer is
// not a Bulwark service, and never parse message text.
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { commonV1 } from '@bulwark/contracts';
import { BulwarkError, isErrorKind, restoreError, type ErrorKind } from '@bulwark/errors';

export const errorDetailTrailer = 'bulwark-error-bin';

export const codeByKind: Record<ErrorKind, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'already-exists': status.ALREADY_EXISTS,
  'failed-precondition': status.FAILED_PRECONDITION,
  'not-leader': status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  'deadline-exceeded': status.DEADLINE_EXCEEDED,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  unimplemented: status.UNIMPLEMENTED,
  aborted: status.ABORTED,
  cancelled: status.CANCELLED,
  internal: status.INTERNAL,
};

/** For statuses from peers that send no detail: the kind and whether to retry. */
const kindByCode: Partial<Record<status, { kind: ErrorKind; retryable: boolean }>> = {
  [status.INVALID_ARGUMENT]: { kind: 'invalid-argument', retryable: false },
  [status.NOT_FOUND]: { kind: 'not-found', retryable: false },
  [status.ALREADY_EXISTS]: { kind: 'already-exists', retryable: false },
  [status.FAILED_PRECONDITION]: { kind: 'failed-precondition', retryable: false },
  [status.UNAVAILABLE]: { kind: 'unavailable', retryable: true },
  [status.DEADLINE_EXCEEDED]: { kind: 'deadline-exceeded', retryable: true },
  // Without Bulwark's detail this is gRPC's own limit (a message over the receive size): the same call fails again.
  [status.RESOURCE_EXHAUSTED]: { kind: 'resource-exhausted', retryable: false },
  [status.UNIMPLEMENTED]: { kind: 'unimplemented', retryable: false },
  [status.ABORTED]: { kind: 'aborted', retryable: true },
  [status.CANCELLED]: { kind: 'cancelled', retryable: false },
};

/** A status for an error thrown by a handler; `unmapped` is set for errors outside the domain table. */
export function toStatus(error: unknown): StatusObject & { unmapped: boolean } {
  if (!(error instanceof BulwarkError)) {
    return { code: status.INTERNAL, details: 'internal error', metadata: new Metadata(), unmapped: true };
  }
  const metadata = new Metadata();
  const detail = commonV1.ErrorDetail.encode({
    field: error.details.field ?? '',
    leaderId: error.details.leaderId ?? '',
    leaderAddress: error.details.leaderAddress ?? '',
    retryable: error.retryable,
    kind: error.kind,
    revision: error.details.revision ?? 0n,
    decided: error.details.decided ?? false,
  }).finish();
  metadata.set(errorDetailTrailer, Buffer.from(detail));
  return { code: codeByKind[error.kind], details: error.message, metadata, unmapped: false };
}

/** The typed domain error for a failed call. */
export function fromServiceError(error: ServiceError): BulwarkError {
  const message = error.details || error.message;
  const raw = error.metadata?.get(errorDetailTrailer)[0];
  if (raw instanceof Buffer) {
    try {
      const detail = commonV1.ErrorDetail.decode(raw);
      if (isErrorKind(detail.kind)) {
        return restoreError(detail.kind, message, detail.retryable, {
          ...(detail.field ? { field: detail.field } : {}),
          ...(detail.leaderId ? { leaderId: detail.leaderId } : {}),
          ...(detail.leaderAddress ? { leaderAddress: detail.leaderAddress } : {}),
          ...(detail.revision > 0n ? { revision: detail.revision } : {}),
          ...(detail.decided ? { decided: true } : {}),
        });
      }
    } catch {
      // A malformed trailer is treated as absent: fall back to the code.
    }
  }
  const mapped = kindByCode[error.code];
  if (mapped) return restoreError(mapped.kind, message, mapped.retryable, { withoutDetail: true });
  return restoreError('internal', `${status[error.code] ?? error.code}: ${message}`, false, { withoutDetail: true });
}

// The key a caller's request_id is remembered under: the id and a
// fingerprint of the request it named (the method and every other field),
// so the same id sent with a different request is told apart.
import { createHash } from 'node:crypto';
import { checkRequestId, type RequestKey } from '@bulwark/metadata';

/** A generated request message type: encodes a message with its fields in field-number order. */
interface RequestType<T> {
  encode(message: T): { finish(): Uint8Array };
}

/**
 * The request's key, or undefined when it carries no request_id (each call
 * is then a new request). Throws INVALID_ARGUMENT naming request_id when
 * the id is malformed.
 */
export function requestKeyOf<T extends { requestId: string }>(
  method: string,
  type: RequestType<T>,
  request: T,
): RequestKey | undefined {
  if (request.requestId === '') return undefined;
  const id = checkRequestId(request.requestId, 'request_id');
  // ts-proto encodes fields in order and drops unknown ones, so equal requests give equal bytes.
  const body = type.encode({ ...request, requestId: '' }).finish();
  const fingerprint = createHash('sha256').update(method).update('\0').update(body).digest('hex');
  return { id, fingerprint };
}

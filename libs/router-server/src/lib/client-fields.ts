// The shard.v1 checks name fields as a replica's caller sees them
// (`request.key`, inside the group-addressed wrapper); a kv.v1 caller sent
// `key`, or `puts[3].key` in a batch. This renames them, so the router
// applies exactly the checks the replica will and still names the field
// the client wrote.
import { BulwarkError, restoreError } from '@bulwark/errors';

const wrapperField = 'request';

/** error with its `request...` field renamed to start at path (empty: the top level); other errors as they are. */
export function asClientError(error: unknown, path = ''): unknown {
  if (!(error instanceof BulwarkError)) return error;
  const field = error.details.field;
  if (field === undefined || (field !== wrapperField && !field.startsWith(`${wrapperField}.`))) return error;
  const rest = field.slice(wrapperField.length);
  const renamed = path === '' ? rest.replace(/^\./, '') || wrapperField : `${path}${rest}`;
  const message = error.message.startsWith(`${field}: `)
    ? `${renamed}: ${error.message.slice(field.length + 2)}`
    : error.message;
  return restoreError(error.kind, message, error.retryable, { ...error.details, field: renamed });
}

/** Runs check, rethrowing what it throws with client field names. */
export function checkedAs<T>(path: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw asClientError(error, path);
  }
}

/** Awaits answer, rethrowing what it throws with client field names (path as in asClientError). */
export async function clientFields<T>(path: string, answer: () => Promise<T>): Promise<T> {
  try {
    return await answer();
  } catch (error) {
    throw asClientError(error, path);
  }
}

import { BulwarkError } from '../lib/errors';

/** The domain error a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<BulwarkError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof BulwarkError)) throw new Error(`expected a domain error, got ${String(error)}`);
  return error;
}

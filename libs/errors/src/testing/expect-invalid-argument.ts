import { InvalidArgumentError } from '../lib/errors';

/** Asserts that build throws InvalidArgumentError naming field, and returns its message for further checks. */
export function expectInvalidArgument(build: () => unknown, field: string): string {
  let caught: unknown;
  try {
    build();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  const error = caught as InvalidArgumentError;
  expect(error.details.field).toBe(field);
  return error.message;
}

import type { BulwarkError } from '@bulwark/errors';
import type { Applied } from '../lib/commands';
import type { Topology } from '../lib/types';

type ErrorClass = abstract new (...args: never[]) => BulwarkError;

/**
 * Asserts that a command was rejected with `kind` naming `field`, and that
 * the rejection changed nothing: the same topology object, no events.
 * Returns the error message for further checks.
 */
export function expectRejected(applied: Applied, before: Topology, kind: ErrorClass, field: string): string {
  expect(applied.topology).toBe(before);
  expect(applied.events).toEqual([]);
  if (applied.result.ok) throw new Error(`expected a ${kind.name} naming ${field}, but the command succeeded`);
  expect(applied.result.error).toBeInstanceOf(kind);
  expect(applied.result.error.details.field).toBe(field);
  return applied.result.error.message;
}

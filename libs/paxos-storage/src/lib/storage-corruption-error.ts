// The one error that stops a coordinator from starting: what is on disk is
// not something this code wrote (bit rot, a bad copy, a bug), so recovering
// from it could drop state other members were told is durable.
import { BulwarkError } from '@bulwark/errors';

/** A storage file is damaged beyond a torn last write; names the file, byte offset and problem. */
export class StorageCorruptionError extends BulwarkError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly problem: string,
  ) {
    super('internal', `${file} at byte ${offset}: ${problem}; refusing to start rather than lose durable state`, false);
  }
}

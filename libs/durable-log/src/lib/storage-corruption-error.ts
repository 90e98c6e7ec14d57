// The one error for damaged storage: what is on disk is
// not something this code wrote (bit rot, a bad copy, a bug), so recovering
// from it could drop state other members were told is durable. At open it
// stops the start; later (a snapshot being read) it fails the read.
import { BulwarkError } from '@bulwark/errors';

/** A storage file is damaged beyond a torn last write; names the file, byte offset and problem. */
export class StorageCorruptionError extends BulwarkError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly problem: string,
  ) {
    super(
      'internal',
      `${file} at byte ${offset}: ${problem}; refusing to start, or to go on, rather than lose durable state`,
      false,
    );
  }
}

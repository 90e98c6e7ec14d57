// What the client's tests ask of a held lock: the reason it was lost, and
// the holding behind the public interface (for its test hooks and events).
import { once } from 'node:events';
import { LockLostError } from '../lib/lock-errors';
import type { HeldLock } from '../lib/held-lock';
import { LockHolding } from '../lib/lock-holding';

/** The LockLostError the lock's signal is (or gets) aborted with. */
export async function lossOf(lock: HeldLock): Promise<LockLostError> {
  if (!lock.signal.aborted) await once(lock.signal, 'abort');
  const reason: unknown = lock.signal.reason;
  if (!(reason instanceof LockLostError)) throw new Error(`expected a LockLostError, got ${String(reason)}`);
  return reason;
}

export function holdingOf(lock: HeldLock | undefined): LockHolding {
  if (!(lock instanceof LockHolding)) throw new Error('expected a held lock');
  return lock;
}

// lock.v1.Lock as served by the lock service. Leases, fencing tokens and the
// Redis quorum come with the lock issue; until then every method answers
// UNIMPLEMENTED through the shared wrapper and error table.
import { lockV1 } from '@bulwark/contracts';
import { UnimplementedError } from '@bulwark/errors';
import type { HandlerKit, ServiceBinding } from '@bulwark/rpc';

export function lockService(kit: HandlerKit): ServiceBinding {
  const notYet = (method: string) => () => {
    throw new UnimplementedError(`lock.v1.Lock/${method}`);
  };
  const implementation: lockV1.LockServer = {
    acquire: kit.unary(notYet('Acquire')),
    tryAcquire: kit.unary(notYet('TryAcquire')),
    refresh: kit.unary(notYet('Refresh')),
    release: kit.unary(notYet('Release')),
    inspect: kit.unary(notYet('Inspect')),
  };
  return { definition: lockV1.LockService, implementation };
}

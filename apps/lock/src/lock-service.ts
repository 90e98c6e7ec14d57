// lock.v1.Lock as served by the lock service. Leases, fencing tokens and the
// Redis quorum come with the lock issue; until then every method answers
// UNIMPLEMENTED through the shared wrapper and error table.
import { lockV1 } from '@bulwark/contracts';
import { notImplemented, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';

export function lockService(kit: HandlerKit): ServiceBinding {
  const implementation: lockV1.LockServer = {
    acquire: kit.unary(notImplemented('lock.v1.Lock/Acquire')),
    tryAcquire: kit.unary(notImplemented('lock.v1.Lock/TryAcquire')),
    refresh: kit.unary(notImplemented('lock.v1.Lock/Refresh')),
    release: kit.unary(notImplemented('lock.v1.Lock/Release')),
    inspect: kit.unary(notImplemented('lock.v1.Lock/Inspect')),
  };
  return { definition: lockV1.LockService, implementation };
}

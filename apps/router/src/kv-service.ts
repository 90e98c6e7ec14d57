// kv.v1.KV as served by the router. Routing, balancing and retries come with
// the router issue; until then every method answers UNIMPLEMENTED, through
// the same wrapper and error table the real handlers will use.
import { kvV1 } from '@bulwark/contracts';
import { UnimplementedError } from '@bulwark/errors';
import type { HandlerKit, ServiceBinding } from '@bulwark/rpc';

export function kvService(kit: HandlerKit): ServiceBinding {
  const notYet = (method: string) => () => {
    throw new UnimplementedError(`kv.v1.KV/${method}`);
  };
  const implementation: kvV1.KVServer = {
    put: kit.unary(notYet('Put')),
    get: kit.unary(notYet('Get')),
    delete: kit.unary(notYet('Delete')),
    batchGet: kit.unary(notYet('BatchGet')),
    scan: kit.unary(notYet('Scan')),
  };
  return { definition: kvV1.KVService, implementation };
}

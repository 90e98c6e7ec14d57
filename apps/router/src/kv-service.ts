// kv.v1.KV as served by the router. Routing, balancing and retries come with
// the router issue; until then every method answers UNIMPLEMENTED, through
// the same wrapper and error table the real handlers will use.
import { kvV1 } from '@bulwark/contracts';
import { notImplemented, type HandlerKit, type ServiceBinding } from '@bulwark/rpc';

export function kvService(kit: HandlerKit): ServiceBinding {
  const implementation: kvV1.KVServer = {
    put: kit.unary(notImplemented('kv.v1.KV/Put')),
    get: kit.unary(notImplemented('kv.v1.KV/Get')),
    delete: kit.unary(notImplemented('kv.v1.KV/Delete')),
    batchGet: kit.unary(notImplemented('kv.v1.KV/BatchGet')),
    scan: kit.unary(notImplemented('kv.v1.KV/Scan')),
  };
  return { definition: kvV1.KVService, implementation };
}

// What a router shows Prometheus beyond its gRPC calls: how often it tried
// an operation again (a moved primary, an unavailable member, a full queue,
// a stale ring). A steady rate is failovers and ring moves; a rising one
// is a group in trouble.
import { counter } from '@bulwark/metrics';

/** The kv.v1 methods that route to replica groups, and so may retry. */
export type RoutedMethod = 'Put' | 'Get' | 'Delete' | 'BatchGet' | 'BatchPut' | 'Scan' | 'Txn';
const routedMethods: readonly RoutedMethod[] = ['Put', 'Get', 'Delete', 'BatchGet', 'BatchPut', 'Scan', 'Txn'];

const retries = counter<'method'>({
  name: 'bulwark_router_retries_total',
  help: 'Attempts a router made again after a failure a retry can fix, by kv.v1 method (each key of a batch counts).',
  labelNames: ['method'],
});
// Every method is there from the start, at zero: rate() and absent() work before the first retry.
for (const method of routedMethods) retries.inc({ method }, 0);

export function countRetry(method: RoutedMethod): void {
  retries.inc({ method });
}

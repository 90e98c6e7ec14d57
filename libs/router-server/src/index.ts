export { asClientError } from './lib/client-fields';
export {
  batchKeysMax,
  defaultRetryBackoff,
  KvRouter,
  remainingMs,
  type Deadline,
  type KvRouterOptions,
  type RetryBackoff,
} from './lib/kv-router';
export { deadlineOf, groupHeader, kvService, replicaHeader, type KvServiceOptions } from './lib/kv-service';
export {
  operationFailure,
  OperateStream,
  operationsInFlightMax,
  queuedOperationsMaxDefault,
  type OperateCall,
  type OperateStreamOptions,
  type OperationAnswer,
  type OperationRequest,
} from './lib/operate-stream';
export { decodePageToken, encodePageToken, type PageToken } from './lib/page-token';
export {
  ReplicaConnection,
  ReplicaPool,
  replicaReceiveBytesMax,
  type ReplicaChannel,
  type ReplicaChannels,
  type ReplicaPoolOptions,
} from './lib/replica-pool';
export {
  readBalancerPolicies,
  ReadTargets,
  refusalCoolDownMs,
  type ReadBalancerPolicy,
  type ReadTarget,
  type ReadTargetsOptions,
} from './lib/read-targets';
export { Router, routerReceiveBytesMax, type RouterOptions } from './lib/router';
export { RoutingTable, singleGroup, type GroupRoute, type KeyField, type KeyPlacement } from './lib/routing-table';
export { RoutingView, type TopologySource } from './lib/routing-view';

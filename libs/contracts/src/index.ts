// Generated contracts, one namespace per proto package. Regenerate with
// `npm run generate`; `npm test` fails when the generated code is stale.
export * as commonV1 from './generated/common/v1/common';
export * as coordinatorV1 from './generated/coordinator/v1/coordinator';
export * as coordinatorV1Metadata from './generated/coordinator/v1/metadata';
export * as kvV1 from './generated/kv/v1/kv';
export * as lockV1 from './generated/lock/v1/lock';
export * as monitorV1 from './generated/monitor/v1/monitor';
export * as paxosV1 from './generated/paxos/v1/paxos';
export * as replicationV1 from './generated/replication/v1/replication';
export * as shardV1 from './generated/shard/v1/shard';
export * as healthV1 from './generated/grpc/health/v1/health';
export * as reflectionV1 from './generated/grpc/reflection/v1/reflection';
export * as reflectionV1alpha from './generated/grpc/reflection/v1alpha/reflection';
export { descriptorSetBase64 } from './generated/descriptor-set';
export { encodeWithSharedWriter, serializeMessage, type MessageEncoder } from './serialize-message';

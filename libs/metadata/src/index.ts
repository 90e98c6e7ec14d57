export type {
  Member,
  MemberRole,
  ReplicaGroup,
  ReplicationMode,
  Ring,
  RingGroup,
  Topology,
  TopologyChange,
  TopologyEvent,
} from './lib/types';
export { memberRoles, replicationModes } from './lib/types';
export type {
  Applied,
  CommandOutputs,
  CommandResult,
  CommandType,
  CreateGroupCommand,
  DeleteGroupCommand,
  FailoverCommand,
  MetadataCommand,
  NoopCommand,
  RegisterMemberCommand,
  RenewPrimaryLeaseCommand,
  SetRingCommand,
  UpdateInSyncSetCommand,
} from './lib/commands';
export { apply } from './lib/apply';
export { applyEvents } from './lib/apply-events';
export { EventHistory, type EventsSince } from './lib/event-history';
export { checkId, checkRequestId } from './lib/fields';
export { retryableFailedPrecondition } from './lib/handlers/group-checks';
export { topologyViolations } from './lib/invariants';
export {
  addressLengthMax,
  eventHistoryMax,
  groupMembersMax,
  idLengthMax,
  leaseMsMax,
  requestIdLengthMax,
  requestsRememberedMax,
  topologyGroupsMax,
  topologyMembersMax,
} from './lib/limits';
export { estimatedBytes, type RememberedRequest, type RequestKey } from './lib/request-table';
export { MetadataStateMachine, type Answer } from './lib/state-machine';
export { emptyTopology, findGroup, findMember, groupOfMember } from './lib/topology';
export { topologyEquals } from './lib/topology-equals';

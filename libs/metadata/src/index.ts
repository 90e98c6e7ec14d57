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
  StartHandoverCommand,
  UpdateInSyncSetCommand,
} from './lib/commands';
export type { EventsSince } from './lib/event-history';
export { checkId, checkRequestId } from './lib/fields';
export { retryableFailedPrecondition } from './lib/handlers/group-checks';
export { topologyViolations } from './lib/invariants';
export {
  addressLengthMax,
  groupMembersMax,
  idLengthMax,
  leaseMsMax,
  requestIdLengthMax,
  topologyGroupsMax,
  topologyMembersMax,
} from './lib/limits';
export { estimatedBytes, type RememberedRequest, type RequestKey } from './lib/request-table';
export { MetadataStateMachine, type Answer } from './lib/state-machine';
export { emptyTopology, findGroup } from './lib/topology';
export { topologyEquals } from './lib/topology-equals';

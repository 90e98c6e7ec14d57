// The coordinator's replicated state as the snapshot that replaces a prefix
// of its Paxos log (coordinator.v1 MetadataSnapshot): the topology and the
// remembered requests with their first outcomes, oldest first.
import { coordinatorV1Metadata } from '@bulwark/contracts';
import { isErrorKind, restoreError } from '@bulwark/errors';
import type { CommandResult, RememberedRequest, Topology } from '@bulwark/metadata';
import {
  groupFromProto,
  groupToProto,
  memberFromProto,
  memberToProto,
  ringFromProto,
  ringToProto,
  topologyFromProto,
  topologyToProto,
} from './topology-codec';

const { MetadataSnapshot } = coordinatorV1Metadata;

export interface SnapshotState {
  readonly topology: Topology;
  readonly requests: readonly RememberedRequest[];
}

export function encodeSnapshot(state: SnapshotState): Uint8Array {
  return MetadataSnapshot.encode({
    topology: topologyToProto(state.topology),
    requests: state.requests.map(requestToProto),
  }).finish();
}

/** The state of a snapshot; throws on bytes that are not one (the caller treats it as corruption). */
export function decodeSnapshot(bytes: Uint8Array): SnapshotState {
  const snapshot = MetadataSnapshot.decode(bytes);
  if (!snapshot.topology) throw new Error('snapshot has no topology');
  return { topology: topologyFromProto(snapshot.topology), requests: snapshot.requests.map(requestFromProto) };
}

function requestToProto(request: RememberedRequest): coordinatorV1Metadata.RememberedRequest {
  const { id, fingerprint, revision, result } = request;
  const common = { requestId: id, requestFingerprint: fingerprint, revision };
  if (!result.ok) {
    const { kind, message, details } = result.error;
    return { ...common, outcome: { $case: 'error', error: { kind, field: details.field ?? '', message } } };
  }
  const value = result.value;
  return {
    ...common,
    outcome: {
      $case: 'output',
      output: {
        member: 'member' in value ? memberToProto(value.member) : undefined,
        group: 'group' in value ? groupToProto(value.group) : undefined,
        ring: 'ring' in value ? ringToProto(value.ring) : undefined,
        deletedGroupId: 'groupId' in value ? value.groupId : '',
        leaseMs: 'leaseMs' in value ? value.leaseMs : 0,
        deregisteredMemberId: 'memberId' in value ? value.memberId : '',
      },
    },
  };
}

function requestFromProto(request: coordinatorV1Metadata.RememberedRequest): RememberedRequest {
  return {
    id: request.requestId,
    fingerprint: request.requestFingerprint,
    revision: request.revision,
    result: resultFromProto(request),
  };
}

function resultFromProto({ requestId, outcome }: coordinatorV1Metadata.RememberedRequest): CommandResult {
  if (outcome?.$case === 'error') {
    const { kind, field, message } = outcome.error;
    if (!isErrorKind(kind)) throw new Error(`remembered request ${requestId} has an unknown error kind '${kind}'`);
    // Only errors a retry cannot change are remembered.
    return { ok: false, error: restoreError(kind, message, false, field ? { field } : {}) };
  }
  const output = outcome?.output;
  if (!output) throw new Error(`remembered request ${requestId} has no outcome`);
  // Each command answers with its own set of fields (CommandOutputs); the fields present say which.
  if (output.member) {
    const member = memberFromProto(output.member);
    if (!member) throw new Error(`remembered request ${requestId} has a member of unknown role`);
    return { ok: true, value: { member } };
  }
  if (output.ring) return { ok: true, value: { ring: ringFromProto(output.ring) } };
  if (output.group) {
    const group = groupFromProto(output.group);
    return { ok: true, value: output.leaseMs > 0 ? { group, leaseMs: output.leaseMs } : { group } };
  }
  if (output.deletedGroupId !== '') return { ok: true, value: { groupId: output.deletedGroupId } };
  if (output.deregisteredMemberId !== '') return { ok: true, value: { memberId: output.deregisteredMemberId } };
  throw new Error(`remembered request ${requestId} has an empty outcome`);
}

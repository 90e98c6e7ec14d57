// Metadata commands as the bytes of Paxos log entries (coordinator.v1
// MetadataCommand). An empty entry is the no-op a new leader fills gaps with.
import { randomUUID } from 'node:crypto';
import { coordinatorV1Metadata } from '@bulwark/contracts';
import type { MetadataCommand, RequestKey } from '@bulwark/metadata';
import { memberFromProto, memberToProto, modeFromProto, modeToProto } from './topology-codec';

const { MetadataCommand: CommandMessage } = coordinatorV1Metadata;

/** Every command but the no-op, which only a new leader proposes (as an empty entry). */
export type Change = Exclude<MetadataCommand, { type: 'noop' }>;

/** A committed entry: the command, and the caller's request key when the call carried a request_id. */
export interface DecodedEntry {
  readonly command: MetadataCommand;
  readonly request?: RequestKey;
}

/**
 * The entry for a command. With the caller's request key it carries the
 * caller's id and fingerprint, so the state machine remembers its outcome;
 * without one it carries an id made up here, which lets the proposer tell
 * its entry from an equal command of another call.
 */
export function encodeCommand(command: Change, request?: RequestKey): Uint8Array {
  return CommandMessage.encode({
    requestId: request?.id ?? randomUUID(),
    requestFingerprint: request?.fingerprint ?? '',
    command: commandToProto(command),
  }).finish();
}

function commandToProto(command: Change): coordinatorV1Metadata.MetadataCommand['command'] {
  switch (command.type) {
    case 'registerMember':
      return { $case: 'registerMember', registerMember: memberToProto(command.member) };
    case 'deregisterMember':
      return { $case: 'deregisterMember', deregisterMember: { memberId: command.memberId } };
    case 'createGroup':
      return {
        $case: 'createGroup',
        createGroup: { groupId: command.groupId, members: [...command.members], mode: modeToProto(command.mode) },
      };
    case 'deleteGroup':
      return {
        $case: 'deleteGroupCommand',
        deleteGroupCommand: {
          groupId: command.groupId,
          expectedPrimaryLeaseRevision: command.expectedPrimaryLeaseRevision ?? 0n,
        },
      };
    case 'setRing':
      return {
        $case: 'setRing',
        setRing: {
          expectedVersion: command.expectedVersion,
          virtualNodesPerWeight: command.virtualNodesPerWeight,
          groups: command.groups.map((group) => ({ groupId: group.groupId, weight: group.weight })),
        },
      };
    case 'failover':
      return {
        $case: 'failover',
        failover: {
          groupId: command.groupId,
          expectedEpoch: command.expectedEpoch,
          newPrimary: command.newPrimary,
          expectedPrimaryLeaseRevision: command.expectedPrimaryLeaseRevision ?? 0n,
        },
      };
    case 'startHandover':
      return {
        $case: 'startHandover',
        startHandover: { groupId: command.groupId, expectedEpoch: command.expectedEpoch, target: command.target },
      };
    case 'renewPrimaryLease':
      return {
        $case: 'renewPrimaryLease',
        renewPrimaryLease: {
          groupId: command.groupId,
          memberId: command.memberId,
          epoch: command.epoch,
          leaseMs: command.leaseMs,
        },
      };
    case 'updateInSyncSet':
      return {
        $case: 'updateInSyncSet',
        updateInSyncSet: {
          groupId: command.groupId,
          epoch: command.epoch,
          primaryId: command.primaryId,
          inSync: [...command.inSync],
        },
      };
  }
}

/**
 * The command in a committed entry. Empty bytes are the no-op; so is an
 * entry that does not decode, which only a bug could commit: every replica
 * decodes the same bytes the same way, so they still agree.
 */
export function decodeEntry(bytes: Uint8Array): DecodedEntry {
  if (bytes.length === 0) return { command: { type: 'noop' } };
  let message: coordinatorV1Metadata.MetadataCommand;
  try {
    message = CommandMessage.decode(bytes);
  } catch {
    return { command: { type: 'noop' } };
  }
  const command = commandFromProto(message.command);
  // Only a caller's request_id comes with a fingerprint; made-up ids are not remembered.
  if (message.requestFingerprint === '' || command.type === 'noop') return { command };
  return { command, request: { id: message.requestId, fingerprint: message.requestFingerprint } };
}

function commandFromProto(body: coordinatorV1Metadata.MetadataCommand['command']): MetadataCommand {
  switch (body?.$case) {
    case 'registerMember': {
      const member = memberFromProto(body.registerMember);
      return member ? { type: 'registerMember', member } : { type: 'noop' };
    }
    case 'deregisterMember':
      return { type: 'deregisterMember', memberId: body.deregisterMember.memberId };
    case 'createGroup': {
      const mode = modeFromProto(body.createGroup.mode);
      const { groupId, members } = body.createGroup;
      return mode ? { type: 'createGroup', groupId, members, mode } : { type: 'noop' };
    }
    case 'deleteGroupCommand':
      return {
        type: 'deleteGroup',
        groupId: body.deleteGroupCommand.groupId,
        expectedPrimaryLeaseRevision: body.deleteGroupCommand.expectedPrimaryLeaseRevision,
      };
    case 'setRing':
      return {
        type: 'setRing',
        expectedVersion: body.setRing.expectedVersion,
        virtualNodesPerWeight: body.setRing.virtualNodesPerWeight,
        groups: body.setRing.groups.map((group) => ({ groupId: group.groupId, weight: group.weight })),
      };
    case 'failover': {
      const { groupId, expectedEpoch, newPrimary, expectedPrimaryLeaseRevision } = body.failover;
      return { type: 'failover', groupId, expectedEpoch, newPrimary, expectedPrimaryLeaseRevision };
    }
    case 'startHandover': {
      const { groupId, expectedEpoch, target } = body.startHandover;
      return { type: 'startHandover', groupId, expectedEpoch, target };
    }
    case 'renewPrimaryLease': {
      const { groupId, memberId, epoch, leaseMs } = body.renewPrimaryLease;
      return { type: 'renewPrimaryLease', groupId, memberId, epoch, leaseMs };
    }
    case 'updateInSyncSet': {
      const { groupId, epoch, primaryId, inSync } = body.updateInSyncSet;
      return { type: 'updateInSyncSet', groupId, epoch, primaryId, inSync };
    }
    default:
      return { type: 'noop' };
  }
}

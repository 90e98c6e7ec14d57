// The replication core's messages on the wire (replication.v1). The sender
// of a stream is named once, in its metadata, not in every message.
// Inbound messages are checked here: a malformed one is dropped (the core
// resends what matters), never handed to the core, which trusts its input.
import { replicationV1, type commonV1 } from '@bulwark/contracts';
import type { LogEntry, ReplicationMessage } from '@bulwark/replication';
import { bufferOf } from '@bulwark/shard-codec';

/** The header a primary opens each Replicate stream with: its member id. */
export const senderHeader = 'bulwark-member-id';
/** And the group it replicates, so a member of another group refuses the stream. */
export const groupHeader = 'bulwark-group-id';

type PrimaryMessage = Extract<ReplicationMessage, { type: 'hello' | 'append' | 'needSnapshot' }>;
type BackupMessage = Extract<ReplicationMessage, { type: 'backupState' | 'ack' | 'staleEpoch' }>;

export function isPrimaryMessage(message: ReplicationMessage): message is PrimaryMessage {
  return message.type === 'hello' || message.type === 'append' || message.type === 'needSnapshot';
}

/** entryTraces: the trace contexts of the append's sampled writes (WriteTraces), none otherwise. */
export function encodePrimaryMessage(
  message: PrimaryMessage,
  groupId: string,
  entryTraces: commonV1.TraceContext[] = [],
): replicationV1.ReplicateRequest {
  switch (message.type) {
    case 'hello':
      return { body: { $case: 'hello', hello: { groupId, epoch: message.epoch, primaryId: message.from } } };
    case 'append':
      return {
        body: {
          $case: 'append',
          append: {
            epoch: message.epoch,
            prevSequence: message.prevSequence,
            prevEpoch: message.prevEpoch,
            entries: message.entries.map(({ sequence, epoch, command }) => ({
              sequence,
              epoch,
              command: bufferOf(command),
            })),
            commitSequence: message.commitSequence,
            entryTraces,
            ackEcho: message.ackEcho,
          },
        },
      };
    case 'needSnapshot':
      return {
        body: {
          $case: 'needSnapshot',
          needSnapshot: {
            epoch: message.epoch,
            logStartSequence: message.logStartSequence,
            commitSequence: message.commitSequence,
          },
        },
      };
  }
}

/** Entries must follow prevSequence one by one, in epochs from prevEpoch up to the batch's. */
function wellFormedEntries(append: replicationV1.AppendBatch): boolean {
  let sequence = append.prevSequence;
  let epoch = append.prevEpoch;
  if (epoch > append.epoch) return false;
  for (const entry of append.entries) {
    if (entry.sequence !== sequence + 1n || entry.epoch < epoch || entry.epoch > append.epoch) return false;
    sequence = entry.sequence;
    epoch = entry.epoch;
  }
  return true;
}

/** A message from primary `from` to this member `to`; undefined when malformed. */
export function decodePrimaryMessage(
  request: replicationV1.ReplicateRequest,
  from: string,
  to: string,
): PrimaryMessage | undefined {
  const body = request.body;
  switch (body?.$case) {
    case 'hello':
      if (body.hello.primaryId !== from) return undefined;
      return { type: 'hello', from, to, epoch: body.hello.epoch };
    case 'append': {
      const append = body.append;
      if (!wellFormedEntries(append)) return undefined;
      const entries: LogEntry[] = append.entries.map(({ sequence, epoch, command }) => ({ sequence, epoch, command }));
      return {
        type: 'append',
        from,
        to,
        epoch: append.epoch,
        prevSequence: append.prevSequence,
        prevEpoch: append.prevEpoch,
        entries,
        commitSequence: append.commitSequence,
        ackEcho: append.ackEcho,
      };
    }
    case 'needSnapshot':
      return {
        type: 'needSnapshot',
        from,
        to,
        epoch: body.needSnapshot.epoch,
        logStartSequence: body.needSnapshot.logStartSequence,
        commitSequence: body.needSnapshot.commitSequence,
      };
    default:
      return undefined;
  }
}

export function encodeBackupMessage(message: BackupMessage): replicationV1.ReplicateResponse {
  const header = {
    memberId: message.from,
    epoch: message.epoch,
    ballot: undefined,
    revision: 0n,
    sequence: 0n,
    groupId: '',
  };
  switch (message.type) {
    case 'backupState':
      return {
        header,
        body: {
          $case: 'state',
          state: { epoch: message.epoch, lastSequence: message.lastSequence, epochStarts: [...message.epochStarts] },
        },
      };
    case 'ack':
      return {
        header,
        body: {
          $case: 'ack',
          ack: { epoch: message.epoch, durableSequence: message.durableSequence, stamp: message.stamp },
        },
      };
    case 'staleEpoch':
      return { header, body: { $case: 'staleEpoch', staleEpoch: { currentEpoch: message.epoch } } };
  }
}

/** A message from backup `from` to this primary `to`; undefined when malformed. */
export function decodeBackupMessage(
  response: replicationV1.ReplicateResponse,
  from: string,
  to: string,
): BackupMessage | undefined {
  const body = response.body;
  switch (body?.$case) {
    case 'state':
      return {
        type: 'backupState',
        from,
        to,
        epoch: body.state.epoch,
        lastSequence: body.state.lastSequence,
        epochStarts: body.state.epochStarts,
      };
    case 'ack':
      return {
        type: 'ack',
        from,
        to,
        epoch: body.ack.epoch,
        durableSequence: body.ack.durableSequence,
        stamp: body.ack.stamp,
      };
    case 'staleEpoch':
      return { type: 'staleEpoch', from, to, epoch: body.staleEpoch.currentEpoch };
    default:
      return undefined;
  }
}

/** Bytes of a request's encoding, estimated without encoding it (queue bounds). */
export function requestBytesEstimate(request: replicationV1.ReplicateRequest): number {
  const body = request.body;
  if (body?.$case !== 'append') return 64;
  return 64 + body.append.entries.reduce((sum, entry) => sum + 24 + entry.command.byteLength, 0);
}

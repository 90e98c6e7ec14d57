// Maps the Paxos core's messages to paxos.v1 protobufs and back. Decoding
// checks what the core relies on (a ballot on every ballot-carrying message)
// and drops what is malformed: a peer's bad message must never crash us.
import { paxosV1, type commonV1 } from '@bulwark/contracts';
import type { Ballot, Entry, Message } from '@bulwark/paxos';

function toBallot(ballot: Ballot): commonV1.Ballot {
  return { round: ballot.round, nodeId: ballot.nodeId };
}

function fromBallot(ballot: commonV1.Ballot | undefined): Ballot | undefined {
  return ballot ? { round: ballot.round, nodeId: ballot.nodeId } : undefined;
}

/** A Buffer view of the same bytes (ts-proto's node flavour types bytes as Buffer). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toEntries(entries: readonly Entry[]): paxosV1.Entry[] {
  return entries.map((entry) => ({ slot: entry.slot, command: asBuffer(entry.command) }));
}

function fromEntries(entries: paxosV1.Entry[]): Entry[] {
  return entries.map((entry) => ({ slot: entry.slot, command: entry.command }));
}

export function encodePaxosMessage(message: Message): paxosV1.Message {
  const envelope = { from: message.from, to: message.to };
  switch (message.type) {
    case 'prepare':
      return {
        ...envelope,
        body: { $case: 'prepare', prepare: { ballot: toBallot(message.ballot), firstOpenSlot: message.firstOpenSlot } },
      };
    case 'promise':
      return {
        ...envelope,
        body: {
          $case: 'promise',
          promise: {
            ballot: toBallot(message.ballot),
            accepted: message.accepted.map((entry) => ({
              entry: { slot: entry.slot, command: asBuffer(entry.command) },
              ballot: toBallot(entry.ballot),
            })),
            commitSlot: message.commitSlot,
            logStartSlot: message.logStart,
          },
        },
      };
    case 'accept':
      return {
        ...envelope,
        body: {
          $case: 'accept',
          accept: {
            ballot: toBallot(message.ballot),
            entries: toEntries(message.entries),
            commitSlot: message.commitSlot,
          },
        },
      };
    case 'accepted':
      return {
        ...envelope,
        body: { $case: 'accepted', accepted: { ballot: toBallot(message.ballot), slots: [...message.slots] } },
      };
    case 'reject':
      return { ...envelope, body: { $case: 'reject', reject: { promised: toBallot(message.promised) } } };
    case 'heartbeat':
      return {
        ...envelope,
        body: {
          $case: 'heartbeat',
          heartbeat: { ballot: toBallot(message.ballot), commitSlot: message.commitSlot, sentTick: message.sentTick },
        },
      };
    case 'heartbeatReply':
      return {
        ...envelope,
        body: {
          $case: 'heartbeatReply',
          heartbeatReply: {
            ballot: toBallot(message.ballot),
            sentTick: message.sentTick,
            commitSlot: message.commitSlot,
          },
        },
      };
    case 'catchUp':
      return {
        ...envelope,
        body: { $case: 'catchUp', catchUp: { ballot: toBallot(message.ballot), entries: toEntries(message.entries) } },
      };
    case 'catchUpRequest':
      return { ...envelope, body: { $case: 'catchUpRequest', catchUpRequest: { commitSlot: message.commitSlot } } };
    case 'preVote':
      return { ...envelope, body: { $case: 'preVote', preVote: { round: message.round } } };
    case 'preVoteReply':
      return {
        ...envelope,
        body: { $case: 'preVoteReply', preVoteReply: { round: message.round, granted: message.granted } },
      };
    case 'installSnapshot':
      return {
        ...envelope,
        body: {
          $case: 'installSnapshot',
          installSnapshot: {
            ballot: toBallot(message.ballot),
            lastSlot: message.snapshot.lastSlot,
            data: asBuffer(message.snapshot.data),
          },
        },
      };
  }
}

/** The core message, or undefined when the protobuf lacks a required part. */
export function decodePaxosMessage(message: paxosV1.Message): Message | undefined {
  const { from, to, body } = message;
  if (!from || !to || !body) return undefined;
  switch (body.$case) {
    case 'prepare': {
      const ballot = fromBallot(body.prepare.ballot);
      return ballot && { type: 'prepare', from, to, ballot, firstOpenSlot: body.prepare.firstOpenSlot };
    }
    case 'promise': {
      const ballot = fromBallot(body.promise.ballot);
      const accepted = [];
      for (const item of body.promise.accepted) {
        const entryBallot = fromBallot(item.ballot);
        if (!item.entry || !entryBallot) return undefined;
        accepted.push({ slot: item.entry.slot, command: item.entry.command, ballot: entryBallot });
      }
      return (
        ballot && {
          type: 'promise',
          from,
          to,
          ballot,
          accepted,
          commitSlot: body.promise.commitSlot,
          logStart: body.promise.logStartSlot,
        }
      );
    }
    case 'accept': {
      const ballot = fromBallot(body.accept.ballot);
      return (
        ballot && {
          type: 'accept',
          from,
          to,
          ballot,
          entries: fromEntries(body.accept.entries),
          commitSlot: body.accept.commitSlot,
        }
      );
    }
    case 'accepted': {
      const ballot = fromBallot(body.accepted.ballot);
      return ballot && { type: 'accepted', from, to, ballot, slots: body.accepted.slots };
    }
    case 'reject': {
      const promised = fromBallot(body.reject.promised);
      return promised && { type: 'reject', from, to, promised };
    }
    case 'heartbeat': {
      const ballot = fromBallot(body.heartbeat.ballot);
      return (
        ballot && {
          type: 'heartbeat',
          from,
          to,
          ballot,
          commitSlot: body.heartbeat.commitSlot,
          sentTick: body.heartbeat.sentTick,
        }
      );
    }
    case 'heartbeatReply': {
      const ballot = fromBallot(body.heartbeatReply.ballot);
      return (
        ballot && {
          type: 'heartbeatReply',
          from,
          to,
          ballot,
          sentTick: body.heartbeatReply.sentTick,
          commitSlot: body.heartbeatReply.commitSlot,
        }
      );
    }
    case 'catchUp': {
      const ballot = fromBallot(body.catchUp.ballot);
      return ballot && { type: 'catchUp', from, to, ballot, entries: fromEntries(body.catchUp.entries) };
    }
    case 'catchUpRequest':
      return { type: 'catchUpRequest', from, to, commitSlot: body.catchUpRequest.commitSlot };
    case 'preVote':
      return { type: 'preVote', from, to, round: body.preVote.round };
    case 'preVoteReply':
      return { type: 'preVoteReply', from, to, round: body.preVoteReply.round, granted: body.preVoteReply.granted };
    case 'installSnapshot': {
      const ballot = fromBallot(body.installSnapshot.ballot);
      const { lastSlot, data } = body.installSnapshot;
      return ballot && { type: 'installSnapshot', from, to, ballot, snapshot: { lastSlot, data } };
    }
    case 'snapshotChunk':
      // The transport assembles chunks into an installSnapshot before decoding.
      return undefined;
  }
}

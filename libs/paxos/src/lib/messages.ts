// The protocol messages between Paxos nodes, as the core sees them. The
// coordinator's gRPC shell maps them to and from paxos.v1.Message.
import type { Ballot } from './ballot';

/** One log slot's value; an empty command is a no-op that fills a gap. */
export interface Entry {
  readonly slot: bigint;
  readonly command: Uint8Array;
}

export interface AcceptedEntry extends Entry {
  readonly ballot: Ballot;
}

export interface Snapshot {
  /** The last slot the snapshot covers; the log starts after it. */
  readonly lastSlot: bigint;
  readonly data: Uint8Array;
}

interface Envelope {
  readonly from: string;
  readonly to: string;
}

/** Phase 1a: a candidate asks for promises for every slot from firstOpenSlot on. */
export interface Prepare extends Envelope {
  readonly type: 'prepare';
  readonly ballot: Ballot;
  readonly firstOpenSlot: bigint;
}

/** Phase 1b: the promise, with what the acceptor accepted from firstOpenSlot on. */
export interface PromiseReply extends Envelope {
  readonly type: 'promise';
  readonly ballot: Ballot;
  readonly accepted: readonly AcceptedEntry[];
  readonly commitSlot: bigint;
  /** The first slot the acceptor still has; slots before it were compacted into a snapshot. */
  readonly logStart: bigint;
}

/** Phase 2a: accept these slots' values. */
export interface Accept extends Envelope {
  readonly type: 'accept';
  readonly ballot: Ballot;
  readonly entries: readonly Entry[];
  readonly commitSlot: bigint;
}

/** Phase 2b: these slots were accepted (and are durable). */
export interface Accepted extends Envelope {
  readonly type: 'accepted';
  readonly ballot: Ballot;
  readonly slots: readonly bigint[];
}

/** The receiver has promised a higher ballot than the message carried. */
export interface Reject extends Envelope {
  readonly type: 'reject';
  readonly promised: Ballot;
}

/** The leader's heartbeat: commit point and lease renewal. */
export interface Heartbeat extends Envelope {
  readonly type: 'heartbeat';
  readonly ballot: Ballot;
  readonly commitSlot: bigint;
  readonly sentTick: bigint;
}

export interface HeartbeatReply extends Envelope {
  readonly type: 'heartbeatReply';
  readonly ballot: Ballot;
  readonly sentTick: bigint;
  readonly commitSlot: bigint;
}

/** Chosen values for a lagging node, in slot order. */
export interface CatchUp extends Envelope {
  readonly type: 'catchUp';
  readonly ballot: Ballot;
  readonly entries: readonly Entry[];
}

/** A lagging node asks a peer for what it has committed beyond commitSlot. */
export interface CatchUpRequest extends Envelope {
  readonly type: 'catchUpRequest';
  readonly commitSlot: bigint;
}

/** A snapshot for a node whose commit point is before the sender's log start. */
export interface InstallSnapshot extends Envelope {
  readonly type: 'installSnapshot';
  readonly ballot: Ballot;
  readonly snapshot: Snapshot;
}

/**
 * Before campaigning a node asks whether a majority would promise it at all
 * (Raft's pre-vote): peers that still hear from a leader say no. A node cut
 * off for a while therefore comes back without a higher round that would
 * depose a healthy leader.
 */
export interface PreVote extends Envelope {
  readonly type: 'preVote';
  /** The round the sender would campaign with. */
  readonly round: bigint;
}

export interface PreVoteReply extends Envelope {
  readonly type: 'preVoteReply';
  readonly round: bigint;
  readonly granted: boolean;
}

export type Message =
  | Prepare
  | PromiseReply
  | Accept
  | Accepted
  | Reject
  | Heartbeat
  | HeartbeatReply
  | CatchUp
  | CatchUpRequest
  | InstallSnapshot
  | PreVote
  | PreVoteReply;

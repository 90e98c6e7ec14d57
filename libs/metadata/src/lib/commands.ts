// The commands the coordinator's Paxos log orders (coordinator.v1
// MetadataCommand) and what applying one yields. Each command carries every
// input apply needs, and none is a clock reading, so every replica that
// applies the same commands in the same order reaches the same topology.
import type { BulwarkError } from '@bulwark/errors';
import type { Member, ReplicaGroup, ReplicationMode, Ring, RingGroup, Topology, TopologyEvent } from './types';

export interface RegisterMemberCommand {
  readonly type: 'registerMember';
  readonly member: Member;
}

/** Removes a member no group lists: a replica a group lists leaves only with its group. */
export interface DeregisterMemberCommand {
  readonly type: 'deregisterMember';
  readonly memberId: string;
}

export interface CreateGroupCommand {
  readonly type: 'createGroup';
  readonly groupId: string;
  /** 1 to 7 registered replicas that declared this group; the first becomes primary. */
  readonly members: readonly string[];
  readonly mode: ReplicationMode;
}

export interface DeleteGroupCommand {
  readonly type: 'deleteGroup';
  readonly groupId: string;
  /**
   * The group's primary_lease_revision when the leader saw its lease end; a
   * later grant refuses the deletion. The coordinator's service always sets
   * it; absent or 0 applies no fence (entries from before the fence existed).
   */
  readonly expectedPrimaryLeaseRevision?: bigint;
}

export interface SetRingCommand {
  readonly type: 'setRing';
  readonly expectedVersion: bigint;
  /** 0 means the default, 4096. */
  readonly virtualNodesPerWeight: number;
  readonly groups: readonly RingGroup[];
}

export interface FailoverCommand {
  readonly type: 'failover';
  readonly groupId: string;
  /** 0 skips the check. */
  readonly expectedEpoch: bigint;
  /**
   * The request's target_primary, or the in-sync member the leader picked;
   * the current primary too, which then leads the next epoch.
   */
  readonly newPrimary: string;
  /**
   * The group's primaryLeaseRevision when the leader decided, on its own
   * monotonic clock, that the old lease had surely ended. A grant since then
   * changes it, and the failover is refused (retryable).
   */
  readonly expectedPrimaryLeaseRevision: bigint;
}

/**
 * Marks a group for handover to `target`: no lease is granted at this
 * epoch from then on, so the primary's lease runs out, and the leader fails
 * the group over once it has (on its own monotonic clock, as any failover).
 */
export interface StartHandoverCommand {
  readonly type: 'startHandover';
  readonly groupId: string;
  /** Must be the group's epoch. */
  readonly expectedEpoch: bigint;
  /** An in-sync member other than the primary. */
  readonly target: string;
}

export interface RenewPrimaryLeaseCommand {
  readonly type: 'renewPrimaryLease';
  readonly groupId: string;
  readonly memberId: string;
  readonly epoch: bigint;
  readonly leaseMs: number;
}

export interface UpdateInSyncSetCommand {
  readonly type: 'updateInSyncSet';
  readonly groupId: string;
  readonly epoch: bigint;
  readonly primaryId: string;
  readonly inSync: readonly string[];
}

/** The empty Paxos entry a new leader fills gaps with; it changes nothing. */
export interface NoopCommand {
  readonly type: 'noop';
}

export type MetadataCommand =
  | RegisterMemberCommand
  | DeregisterMemberCommand
  | CreateGroupCommand
  | DeleteGroupCommand
  | SetRingCommand
  | FailoverCommand
  | StartHandoverCommand
  | RenewPrimaryLeaseCommand
  | UpdateInSyncSetCommand
  | NoopCommand;

export type CommandType = MetadataCommand['type'];

/** What each command returns when it succeeds: what its RPC answers with. */
export interface CommandOutputs {
  registerMember: { readonly member: Member };
  deregisterMember: { readonly memberId: string };
  createGroup: { readonly group: ReplicaGroup };
  deleteGroup: { readonly groupId: string };
  setRing: { readonly ring: Ring };
  failover: { readonly group: ReplicaGroup };
  startHandover: { readonly group: ReplicaGroup };
  /** leaseMs is granted from when the primary sent its request (RenewPrimaryLeaseResponse.lease_ms). */
  renewPrimaryLease: { readonly group: ReplicaGroup; readonly leaseMs: number };
  updateInSyncSet: { readonly group: ReplicaGroup };
  noop: Record<string, never>;
}

export type CommandResult<T extends CommandType = CommandType> =
  { readonly ok: true; readonly value: CommandOutputs[T] } | { readonly ok: false; readonly error: BulwarkError };

/** The outcome of one command: the next topology, the events it produced, and the caller's answer. */
export interface Applied<T extends CommandType = CommandType> {
  /** The same object as the input when nothing changed (a rejection, an idempotent repeat, a no-op). */
  readonly topology: Topology;
  /** Empty when nothing changed; otherwise all carry topology.revision. */
  readonly events: readonly TopologyEvent[];
  readonly result: CommandResult<T>;
}

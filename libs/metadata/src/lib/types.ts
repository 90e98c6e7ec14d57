// The coordinator's metadata as plain, immutable TypeScript values. They mirror
// coordinator.v1 (Member, ReplicaGroup, Ring, Topology, TopologyEvent) field
// for field, with 64-bit values as bigint; the gRPC shell maps them to and
// from the protobufs. Every object reachable from a Topology is frozen, so a
// reader can hold one without copying and no caller can change it behind the
// state machine's back.

export const memberRoles = ['coordinator', 'replica', 'router', 'lock', 'monitor'] as const;
export type MemberRole = (typeof memberRoles)[number];

export const replicationModes = ['sync', 'async'] as const;
export type ReplicationMode = (typeof replicationModes)[number];

export interface Member {
  readonly id: string;
  /** host:port where the member serves gRPC. */
  readonly address: string;
  readonly role: MemberRole;
  /**
   * The replica group a replica declares from its own configuration ('' for
   * none, and always '' for other roles). A replica may declare a group that
   * does not exist yet; it belongs to a group only once that group lists it.
   */
  readonly groupId: string;
  /** host:port where the member serves Prometheus metrics over HTTP; '' when it serves none. */
  readonly metricsAddress: string;
}

export interface ReplicaGroup {
  readonly id: string;
  /** Increases on every primary change; replicas reject anything stamped with an older epoch. */
  readonly epoch: bigint;
  /** The primary's member id at this epoch; '' while none. */
  readonly primary: string;
  /** Every replica of the group, primary included, in the order the group was created with. */
  readonly members: readonly string[];
  /** The members that have every acknowledged write, listed in `members` order. */
  readonly inSync: readonly string[];
  readonly mode: ReplicationMode;
  /**
   * The revision that last granted the primary a lease, or that started this
   * epoch (creation, failover) without one. It changes with every grant, so
   * a failover decided before a grant can be told apart at apply, where no
   * clock may be read.
   */
  readonly primaryLeaseRevision: bigint;
  /** The longest lease granted at this epoch, in ms; 0 while the primary holds none. */
  readonly primaryLeaseMs: number;
  /**
   * The member a Failover asked to take over while the primary still held
   * its lease; '' while no handover is under way. While it is set no lease
   * is granted at this epoch, so the lease runs out and the leader fails the
   * group over; the next epoch clears it.
   */
  readonly handoverTarget: string;
}

export interface RingGroup {
  readonly groupId: string;
  /** 1 to 1000: the group's share of virtual nodes. */
  readonly weight: number;
}

export interface Ring {
  /** 0 until the first SetRing; +1 on every change of the ring. */
  readonly version: bigint;
  /** Points per unit of weight, 1 to 16384 (a request's 0 is stored as the default, 4096). */
  readonly virtualNodesPerWeight: number;
  /** Sorted by group id: the ring does not depend on the order a request listed them in. */
  readonly groups: readonly RingGroup[];
}

/** The whole metadata at one revision. Members and groups are sorted by id (canonical order). */
export interface Topology {
  readonly revision: bigint;
  readonly members: readonly Member[];
  readonly groups: readonly ReplicaGroup[];
  readonly ring: Ring;
}

/** What one committed change did, as coordinator.v1.TopologyEvent's `change` oneof. */
export type TopologyChange =
  | { readonly type: 'memberRegistered'; readonly member: Member }
  | { readonly type: 'memberDeregistered'; readonly memberId: string }
  | { readonly type: 'groupUpdated'; readonly group: ReplicaGroup }
  | { readonly type: 'groupDeleted'; readonly groupId: string }
  | { readonly type: 'ringUpdated'; readonly ring: Ring };

/** One committed change; all events of one command carry the revision that command produced. */
export interface TopologyEvent {
  readonly revision: bigint;
  readonly change: TopologyChange;
}

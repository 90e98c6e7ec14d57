// The replication protocol between a group's primary and its backups, as
// the core sees it; the replica's gRPC shell maps it to replication.v1 on
// one Replicate stream per backup. Every message carries the sender's epoch
// and a member refuses one older than the newest it has seen, so a deposed
// primary's entries are never acknowledged by a member that knows better.
import type { EpochStart } from './epoch-history';

/** One entry of the group log: a command stamped by the primary of `epoch`. */
export interface LogEntry {
  /** Position in the group log, from 1, gapless. */
  readonly sequence: bigint;
  readonly epoch: bigint;
  /** The encoded command; empty for the no-op a primary starts its epoch with. */
  readonly command: Uint8Array;
}

interface Envelope {
  readonly from: string;
  readonly to: string;
  readonly epoch: bigint;
}

/** Primary to backup: opens (or reopens) replication in the primary's epoch. */
export interface Hello extends Envelope {
  readonly type: 'hello';
}

/** Backup to primary: the shape of its log, answering Hello or a batch that did not follow its log. */
export interface BackupState extends Envelope {
  readonly type: 'backupState';
  readonly lastSequence: bigint;
  readonly epochStarts: readonly EpochStart[];
}

/**
 * Primary to backup: entries following `prevSequence`, whose entry the
 * primary's epoch `prevEpoch` wrote. A backup whose log does not hold that
 * entry answers BackupState; an entry of a different epoch at the same
 * sequence is a divergent suffix, dropped before the primary's is appended.
 * Empty: a heartbeat carrying the commit point.
 */
export interface AppendBatch extends Envelope {
  readonly type: 'append';
  readonly prevSequence: bigint;
  readonly prevEpoch: bigint;
  readonly entries: readonly LogEntry[];
  readonly commitSequence: bigint;
  /**
   * The stamp of the last Ack the primary had from this backup when it made
   * the batch (0: none since the backup answered Hello). commitSequence
   * covers every write acknowledged before that Ack was sent, so a backup
   * that applied it is fresh as of that sending, on its own clock, however
   * long the batch was in flight (a partition's retransmissions, a queue
   * flushed at reconnection, a pause of either side).
   */
  readonly ackEcho: bigint;
}

/** Primary to backup: the entries it needs are only in the primary's snapshot. */
export interface NeedSnapshot extends Envelope {
  readonly type: 'needSnapshot';
  readonly logStartSequence: bigint;
  /** What every in-sync member has: a backup installs no snapshot past it (a primary's may hold async writes). */
  readonly commitSequence: bigint;
}

/** Backup to primary: its log agrees with the primary's through durableSequence, all on disk. */
export interface Ack extends Envelope {
  readonly type: 'ack';
  readonly durableSequence: bigint;
  /** Increasing and unique per backup process (at least 1); opaque to the primary, which echoes it. */
  readonly stamp: bigint;
}

/** Any member to a sender of an older epoch; `epoch` is the newest the member has seen. */
export interface StaleEpoch extends Envelope {
  readonly type: 'staleEpoch';
}

export type ReplicationMessage = Hello | BackupState | AppendBatch | NeedSnapshot | Ack | StaleEpoch;

/** The coordinator's record of the group (coordinator.v1 ReplicaGroup), as a member learned it. */
export interface GroupView {
  readonly epoch: bigint;
  /** The primary of `epoch`; '' when the group has none. */
  readonly primary: string;
  readonly members: readonly string[];
  readonly inSync: readonly string[];
  /** The group's replication mode: when a write without its own durability is acknowledged. */
  readonly mode: Durability;
  /**
   * The coordinators' metadata revision this record was read at. Views
   * come by two paths (the topology watch and the answer to an in-sync
   * change), so an older one can arrive after a newer one of the same epoch.
   */
  readonly revision: bigint;
}

/** sync: once every member of the in-sync set has it on disk. async: once the primary has. */
export type Durability = 'sync' | 'async';

/** What the core asks of the coordinator; the runner calls it and reports back. */
export type CoordinatorRequest =
  | { readonly type: 'renewLease'; readonly epoch: bigint }
  | {
      readonly type: 'updateInSync';
      readonly epoch: bigint;
      readonly inSync: readonly string[];
      /**
       * The same for every send of one proposal, another for the next: a
       * send delayed past a later change (a leader change holding it) is
       * answered with the first one's outcome, never applied again, so it
       * cannot put back a member removed since.
       */
      readonly requestId: string;
    };

/** The snapshot a member restores from: the applied state through lastSequence. */
export interface SnapshotPoint {
  readonly lastSequence: bigint;
  readonly lastEpoch: bigint;
  readonly epochStarts: readonly EpochStart[];
}

// What one replica group member keeps durable: its log of entries (the
// commands of the group, numbered by sequence and stamped with the epoch
// whose primary wrote them), the snapshot the log continues from, and two
// epochs it must never forget across a restart.
import type { EpochStart } from '@bulwark/replication';

export type { EpochStart } from '@bulwark/replication';

export interface LogEntry {
  /** Position in the group's log; the first entry is 1. */
  readonly sequence: bigint;
  /** The epoch whose primary wrote the entry. */
  readonly epoch: bigint;
  readonly command: Uint8Array;
}

export interface PersistBatch {
  /** Drop every entry above this sequence first: a returning member's divergent suffix. */
  readonly truncateAfter?: bigint;
  /** Consecutive entries that follow the log (after the truncation). */
  readonly entries: readonly LogEntry[];
  /** The highest epoch this member has seen, raised only. */
  readonly highestEpoch?: bigint;
  /** The highest epoch this member became primary of, raised only: never lead the same epoch twice. */
  readonly ledEpoch?: bigint;
}

/** Where a snapshot sits in the log: what the caller says when saving one. */
export interface SnapshotPoint {
  /** The last sequence the snapshot covers (0: an empty state machine). */
  readonly lastSequence: bigint;
  /** The epoch of that entry (0 with lastSequence 0). */
  readonly lastEpoch: bigint;
  /** The epoch starts of the log through lastSequence, oldest first. */
  readonly epochStarts: readonly EpochStart[];
}

export interface SnapshotMeta extends SnapshotPoint {
  /** Bytes of snapshot data; filled in by the store. */
  readonly dataBytes: bigint;
  /** CRC-32C (Castagnoli) of the data; filled in by the store. */
  readonly checksum: number;
}

/**
 * Which entries the log keeps once a snapshot is saved: those from this
 * sequence on (that are present), or 'none', the log then starting right
 * after the snapshot (a backup that installed a snapshot fetched from its
 * primary).
 */
export type KeepEntries = bigint | 'none';

export interface SaveSnapshotOptions {
  readonly keepEntriesFrom: KeepEntries;
}

/** Snapshot data as the caller produces it, a chunk at a time: never the whole snapshot at once. */
export type SnapshotChunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** A stored snapshot, open for reading. */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  /**
   * The data in chunks of about 1 MiB, checked against meta.checksum as
   * they are read: the iteration throws StorageCorruptionError at its end
   * when they do not match. Iterate once; the snapshot is released when the
   * iteration ends (or stops early).
   */
  chunks(): AsyncIterable<Uint8Array>;
  /** Releases the snapshot without reading it; needed only when chunks() is never iterated to its end. */
  close(): void;
}

/** What a member restarts from: what applying every acknowledged call in order gives. */
export interface RecoveredReplicaState {
  readonly highestEpoch: bigint;
  readonly ledEpoch: bigint;
  readonly snapshot?: SnapshotMeta;
  /**
   * The log, consecutive: after the snapshot, or from where saveSnapshot's
   * keepEntriesFrom kept it (then it may start at or before the snapshot's
   * last sequence, and always reaches it); all of it without a snapshot.
   */
  readonly entries: readonly LogEntry[];
}

/**
 * A member's durable log and snapshot: FileReplicaStorage on disk,
 * MemoryReplicaStorage (@bulwark/replica-storage/testing) in simulations.
 *
 * Calls take effect in call order. A call is checked against the state that
 * every earlier accepted call leaves (whether or not it is durable yet) and
 * is refused at once, before anything is queued, when it does not fit
 * (InvalidArgumentError) or a bound is full (ResourceExhaustedError). Once
 * an accepted call fails, every later one is refused until a reopen.
 */
export interface ReplicaStorage {
  /** Resolves once the batch is durable. */
  appendAsync(batch: PersistBatch): Promise<void>;
  /** Stores a snapshot of the state machine through position.lastSequence and cuts the log; resolves with its meta once durable. */
  saveSnapshot(position: SnapshotPoint, chunks: SnapshotChunks, options: SaveSnapshotOptions): Promise<SnapshotMeta>;
  /** The latest durable snapshot, or undefined before the first one. */
  openSnapshot(): StoredSnapshot | undefined;
  /** Size of the log as stored, so the runner knows when to snapshot. */
  readonly walBytes: number;
  /** Lets pending calls finish, then releases the store; later calls are refused. */
  close(): Promise<void>;
}

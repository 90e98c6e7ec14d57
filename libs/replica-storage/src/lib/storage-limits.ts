// The stated bounds of a replica store, checked once when it opens.
import { InvalidArgumentError } from '@bulwark/errors';
import type { StorageIo } from './storage-io';

export interface ReplicaStorageLimits {
  /**
   * Largest payload of one WAL record, so of one batch, and of a group of
   * batches written together; a larger batch is refused with
   * ResourceExhaustedError. Also bounds a snapshot's meta record (its epoch
   * starts). Default 16 MiB.
   */
  recordBytesMax: number;
  /**
   * Largest WAL file. open reads the WAL whole, so an append that could take
   * it past this is refused with ResourceExhaustedError, and open refuses a
   * larger file; the runner snapshots long before. Default 256 MiB.
   */
  walBytesMax: number;
  /** Largest snapshot data; saving more fails, a larger snapshot file is refused at open. Default 64 GiB. */
  snapshotBytesMax: number;
  /** Calls not yet settled (appendAsync and saveSnapshot); one more is refused with ResourceExhaustedError. Default 1024. */
  pendingAppendsMax: number;
  /** Encoded bytes of the appends not yet settled; one that would pass it is refused with ResourceExhaustedError. Default 64 MiB. */
  pendingBytesMax: number;
}

/** One group commit: appends written as one record and made durable by one fdatasync. */
export interface WalSync {
  /** Log entries the appends carried (a batch may carry none: an epoch raised alone). */
  readonly entries: number;
  /** How long the fdatasync took. */
  readonly seconds: number;
}

export interface FileReplicaStorageOptions extends Partial<ReplicaStorageLimits> {
  /** The file operations appends and snapshots are made durable with; tests count or fail them. */
  io?: Partial<StorageIo>;
  /** Told after each WAL fdatasync that succeeded (for metrics). */
  onWalSync?: (sync: WalSync) => void;
}

const mebibyte = 1024 * 1024;
/** Files are read whole and Node reads at most 2 GiB at once: the in-memory bounds stay well below (the count too, for one rule). */
const inMemoryBytesCeiling = 1024 * mebibyte;

export const defaultReplicaStorageLimits: Readonly<ReplicaStorageLimits> = {
  recordBytesMax: 16 * mebibyte,
  walBytesMax: 256 * mebibyte,
  snapshotBytesMax: 64 * 1024 * mebibyte,
  pendingAppendsMax: 1024,
  pendingBytesMax: 64 * mebibyte,
};

const ceilings: Record<keyof ReplicaStorageLimits, number> = {
  recordBytesMax: inMemoryBytesCeiling,
  walBytesMax: inMemoryBytesCeiling,
  // Streamed, never held: bounded only by exact arithmetic on byte counts.
  snapshotBytesMax: Number.MAX_SAFE_INTEGER,
  pendingAppendsMax: inMemoryBytesCeiling,
  pendingBytesMax: inMemoryBytesCeiling,
};

/** The limits with defaults filled in; throws InvalidArgumentError naming an option that is not an integer in its range. */
export function resolveLimits(options: Partial<ReplicaStorageLimits>): ReplicaStorageLimits {
  const limits: ReplicaStorageLimits = { ...defaultReplicaStorageLimits };
  for (const name of Object.keys(ceilings) as (keyof ReplicaStorageLimits)[]) {
    const value = options[name] ?? defaultReplicaStorageLimits[name];
    if (!Number.isSafeInteger(value) || value < 1 || value > ceilings[name]) {
      throw new InvalidArgumentError(`options.${name}`, `must be an integer from 1 to ${ceilings[name]}, got ${value}`);
    }
    limits[name] = value;
  }
  return limits;
}

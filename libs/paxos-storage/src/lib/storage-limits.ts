// The stated bounds of FilePaxosStorage, checked once when it opens.
import { InvalidArgumentError } from '@bulwark/errors';

export interface FilePaxosStorageOptions {
  /** Largest payload of one WAL record, so of one persist batch; default 64 MiB. */
  recordBytesMax?: number;
  /** Largest snapshot data; default 256 MiB. */
  snapshotBytesMax?: number;
  /**
   * WAL size at which storage rewrites the WAL to hold only the live state,
   * so promises alone (elections without commits, hence without snapshots)
   * cannot grow it without end; default 64 MiB. The next rewrite waits until
   * the WAL has doubled, which keeps rewrites amortised O(1) per append.
   */
  walCompactionBytes?: number;
  /**
   * Most appendAsync calls not yet settled (the one being written included);
   * one more is rejected with ResourceExhaustedError, before anything is
   * written. Each holds its encoded record, so they hold at most this many
   * times recordBytesMax; default 1024.
   */
  pendingAppendsMax?: number;
}

export type StorageLimits = Required<FilePaxosStorageOptions>;

const mebibyte = 1024 * 1024;
/** Files are read whole, and Node reads at most 2 GiB at once: every bound stays well below (the count too, for one rule). */
const limitBytesCeiling = 1024 * mebibyte;

export const defaultStorageLimits: StorageLimits = {
  recordBytesMax: 64 * mebibyte,
  snapshotBytesMax: 256 * mebibyte,
  walCompactionBytes: 64 * mebibyte,
  pendingAppendsMax: 1024,
};

export function resolveStorageLimits(options: FilePaxosStorageOptions): StorageLimits {
  const limits: StorageLimits = {
    recordBytesMax: options.recordBytesMax ?? defaultStorageLimits.recordBytesMax,
    snapshotBytesMax: options.snapshotBytesMax ?? defaultStorageLimits.snapshotBytesMax,
    walCompactionBytes: options.walCompactionBytes ?? defaultStorageLimits.walCompactionBytes,
    pendingAppendsMax: options.pendingAppendsMax ?? defaultStorageLimits.pendingAppendsMax,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1 || value > limitBytesCeiling) {
      throw new InvalidArgumentError(
        `options.${name}`,
        `must be an integer from 1 to ${limitBytesCeiling}, got ${value}`,
      );
    }
  }
  return limits;
}

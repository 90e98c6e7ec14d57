// Timing and bounds of a replica group member, in milliseconds of the
// runner's monotonic clock (time enters the core only as `tick(nowMs)`).
import { InvalidArgumentError } from '@bulwark/errors';

export interface ReplicationSettings {
  /** A primary sends a batch (empty if need be) to every backup at least this often. */
  heartbeatIntervalMs: number;
  /** A Hello, or entries a backup has not acknowledged, go again after it has been silent this long. */
  resendAfterMs: number;
  /**
   * How long an in-sync backup may hold back the acknowledgement of a write
   * before the primary asks the coordinator to drop it from the in-sync set.
   */
  ackTimeoutMs: number;
  /**
   * How often a primary with no grant yet in its epoch asks the coordinator
   * for its lease. Once granted, it renews a third of the way into each
   * lease (see PrimaryRole.renewalIntervalMs).
   */
  leaseRequestRetryMs: number;
  /** A coordinator request without an answer (or a view showing its effect) goes again after this long. */
  coordinatorRetryMs: number;
  /** Subtracted from every lease: the bound on how far this clock's rate may err over a lease (the coordinators' BULWARK_CLOCK_DRIFT_MS). */
  clockDriftMs: number;
  /** Entries past the commit point a primary accepts before it refuses writes (flow control). */
  uncommittedEntriesMax: number;
  /** Command bytes past the commit point a primary accepts before it refuses writes. */
  uncommittedBytesMax: number;
  /** Entries in one AppendBatch. */
  batchEntriesMax: number;
  /** Command bytes in one AppendBatch (one entry always fits, whatever its size). */
  batchBytesMax: number;
  /** Entries sent to one backup and not yet acknowledged. */
  windowEntriesMax: number;
}

export const defaultReplicationSettings: ReplicationSettings = {
  heartbeatIntervalMs: 50,
  resendAfterMs: 200,
  ackTimeoutMs: 500,
  leaseRequestRetryMs: 100,
  coordinatorRetryMs: 200,
  clockDriftMs: 60,
  uncommittedEntriesMax: 16_384,
  uncommittedBytesMax: 64 * 1024 * 1024,
  batchEntriesMax: 1_024,
  batchBytesMax: 4 * 1024 * 1024,
  windowEntriesMax: 8_192,
};

export function validateReplicationSettings(settings: ReplicationSettings): ReplicationSettings {
  const range = (field: keyof ReplicationSettings, min: number, max: number) => {
    const value = settings[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(field, `must be an integer from ${min} to ${max}, got ${value}`);
    }
  };
  range('heartbeatIntervalMs', 1, 60_000);
  range('resendAfterMs', 1, 600_000);
  range('ackTimeoutMs', 1, 600_000);
  range('leaseRequestRetryMs', 1, 60_000);
  range('coordinatorRetryMs', 1, 600_000);
  range('clockDriftMs', 0, 60_000);
  range('uncommittedEntriesMax', 1, 10_000_000);
  range('uncommittedBytesMax', 1, 4 * 1024 * 1024 * 1024);
  range('batchEntriesMax', 1, 65_536);
  range('batchBytesMax', 1, 64 * 1024 * 1024);
  range('windowEntriesMax', 1, 10_000_000);
  if (settings.windowEntriesMax < settings.batchEntriesMax) {
    throw new InvalidArgumentError('windowEntriesMax', 'must be at least batchEntriesMax');
  }
  return settings;
}

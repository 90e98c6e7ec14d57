// Timing and bounds of a Paxos node, in ticks (the runner decides how long a
// tick is). The lease is derived from the election timeout and the stated
// clock-drift bound so that two leases can never overlap in real time.
import { InvalidArgumentError } from '@bulwark/errors';

export interface PaxosSettings {
  /** Ticks without hearing a leader before a node campaigns: uniform in [min, max]. */
  electionTimeoutMinTicks: number;
  electionTimeoutMaxTicks: number;
  heartbeatIntervalTicks: number;
  /**
   * Bound on the rate difference of any node's tick clock from real time,
   * in parts per million (1_000 = 0.1%). The lease shrinks with it.
   */
  clockDriftPpm: number;
  /** Uncommitted slots a leader may have in flight at once. */
  acceptWindowSlots: number;
  /** Entries in one Accept or CatchUp message. */
  batchEntriesMax: number;
  /** Command bytes in one Accept or CatchUp message (one entry always fits, whatever its size). */
  batchBytesMax: number;
  /** CatchUp messages a leader has in flight to one lagging follower. */
  catchUpWindowBatches: number;
  /** Chosen values kept in memory past a compaction, so a follower a little behind needs no snapshot. */
  catchUpTailEntries: number;
}

export const defaultPaxosSettings: PaxosSettings = {
  electionTimeoutMinTicks: 10,
  electionTimeoutMaxTicks: 20,
  heartbeatIntervalTicks: 2,
  clockDriftPpm: 10_000,
  acceptWindowSlots: 1_024,
  batchEntriesMax: 256,
  batchBytesMax: 1024 * 1024,
  catchUpWindowBatches: 8,
  catchUpTailEntries: 5_000,
};

/**
 * Lease length in ticks. A follower that acked a heartbeat sent at leader
 * tick s promises no other candidate for electionTimeoutMin of its own ticks,
 * i.e. at least electionTimeoutMin / (1 + drift) real time; the leader's
 * lease of L ticks lasts at most L / (1 - drift) real time. So
 * L <= electionTimeoutMin * (1 - drift) / (1 + drift), minus one tick for the
 * tick boundary.
 */
export function leaseTicks(settings: PaxosSettings): number {
  const drift = settings.clockDriftPpm / 1_000_000;
  return Math.floor((settings.electionTimeoutMinTicks * (1 - drift)) / (1 + drift)) - 1;
}

export function validatePaxosSettings(settings: PaxosSettings): PaxosSettings {
  const positive = (field: keyof PaxosSettings, max: number) => {
    const value = settings[field];
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new InvalidArgumentError(field, `must be an integer from 1 to ${max}, got ${value}`);
    }
  };
  positive('electionTimeoutMinTicks', 1_000_000);
  positive('electionTimeoutMaxTicks', 1_000_000);
  positive('heartbeatIntervalTicks', 1_000_000);
  positive('acceptWindowSlots', 1_000_000);
  positive('batchEntriesMax', 65_536);
  positive('batchBytesMax', 64 * 1024 * 1024);
  positive('catchUpWindowBatches', 1_024);
  positive('catchUpTailEntries', 1_000_000);
  if (!Number.isInteger(settings.clockDriftPpm) || settings.clockDriftPpm < 0 || settings.clockDriftPpm >= 500_000) {
    throw new InvalidArgumentError(
      'clockDriftPpm',
      `must be an integer from 0 to 499999, got ${settings.clockDriftPpm}`,
    );
  }
  if (settings.electionTimeoutMaxTicks < settings.electionTimeoutMinTicks) {
    throw new InvalidArgumentError('electionTimeoutMaxTicks', 'must be at least electionTimeoutMinTicks');
  }
  if (settings.heartbeatIntervalTicks * 2 > settings.electionTimeoutMinTicks) {
    throw new InvalidArgumentError('heartbeatIntervalTicks', 'must be at most half of electionTimeoutMinTicks');
  }
  if (leaseTicks(settings) <= settings.heartbeatIntervalTicks) {
    throw new InvalidArgumentError('electionTimeoutMinTicks', 'leaves no lease longer than a heartbeat interval');
  }
  return settings;
}

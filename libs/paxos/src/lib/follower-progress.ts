// What a leader knows of one follower's catch-up (etcd-raft's Progress):
// whether it is being sent a snapshot or chosen entries, up to which slot,
// and how many CatchUp messages are in flight, so a lagging follower gets a
// bounded window of catch-up instead of a new batch (or snapshot) per
// heartbeat, and catch-up ends once it reached what it lacked: from there
// Accepts keep it current.
export interface FollowerProgress {
  /** The follower's commit point as it last reported it. */
  commit: bigint;
  /** While catching up: the commit point it must reach (what a heartbeat it answered below advertised). */
  catchUpTarget: bigint | undefined;
  /** The last slot sent in CatchUp (the follower's commit point when nothing is in flight). */
  catchUpSentThrough: bigint;
  /** CatchUp messages sent and not yet answered with a CatchUpRequest. */
  batchesInFlight: number;
  /** The last slot of the snapshot in flight; undefined when none is. */
  snapshotSentSlot: bigint | undefined;
  /** The tick the last CatchUp or InstallSnapshot went out. */
  lastSendTick: number;
  /** The tick the follower last reported a higher commit point. */
  lastProgressTick: number;
  /** The newest heartbeat round the follower answered: its commit point as of then is the truth. */
  lastAnsweredRound: number;
}

export function newFollowerProgress(now: number): FollowerProgress {
  return {
    commit: 0n,
    catchUpTarget: undefined,
    catchUpSentThrough: 0n,
    batchesInFlight: 0,
    snapshotSentSlot: undefined,
    lastSendTick: now,
    lastProgressTick: now,
    lastAnsweredRound: -1,
  };
}

/**
 * A heartbeat reply newer than any before: its commit point is the
 * follower's current one, even when lower than what it reported earlier (a
 * member that came back with an empty disk). Returns true when it went back,
 * and forgets what was in flight to it, so catch-up starts from there.
 */
export function noteAnsweredRound(progress: FollowerProgress, round: number, commit: bigint): boolean {
  if (round <= progress.lastAnsweredRound) return false;
  progress.lastAnsweredRound = round;
  if (commit >= progress.commit) return false;
  progress.commit = commit;
  progress.catchUpSentThrough = commit;
  progress.batchesInFlight = 0;
  progress.snapshotSentSlot = undefined;
  return true;
}

/** Records a reported commit point; ends catch-up once it reached its target. */
export function noteFollowerCommit(progress: FollowerProgress, commit: bigint, now: number): void {
  if (commit > progress.commit) {
    progress.commit = commit;
    progress.lastProgressTick = now;
  }
  if (progress.snapshotSentSlot !== undefined && progress.commit >= progress.snapshotSentSlot) {
    progress.snapshotSentSlot = undefined;
  }
  if (progress.catchUpTarget !== undefined && progress.commit >= progress.catchUpTarget) {
    progress.catchUpTarget = undefined;
    progress.batchesInFlight = 0;
  }
}

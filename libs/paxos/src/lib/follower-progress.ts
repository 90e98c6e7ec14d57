// What a leader knows of one follower's catch-up (etcd-raft's Progress):
// whether it is being sent a snapshot or chosen entries, how far, and when
// the last of it went out, so a lagging follower gets a bounded window of
// catch-up in flight instead of a new batch (or snapshot) per heartbeat.
export interface FollowerProgress {
  /** The follower's commit point as it last reported it. */
  commit: bigint;
  /** While catching up: the last slot sent in CatchUp; undefined while Accepts keep it current. */
  catchUpSentThrough: bigint | undefined;
  /** The tick the last InstallSnapshot went out; undefined when none is in flight. */
  snapshotSentTick: number | undefined;
  /** The tick the last CatchUp or InstallSnapshot went out. */
  lastSendTick: number;
  /** The tick the follower last reported a higher commit point. */
  lastProgressTick: number;
}

export function newFollowerProgress(now: number): FollowerProgress {
  return {
    commit: 0n,
    catchUpSentThrough: undefined,
    snapshotSentTick: undefined,
    lastSendTick: now,
    lastProgressTick: now,
  };
}

/** Records a reported commit point; returns true when it moved forward. */
export function noteFollowerCommit(progress: FollowerProgress, commit: bigint, now: number): boolean {
  if (commit <= progress.commit) return false;
  progress.commit = commit;
  progress.lastProgressTick = now;
  return true;
}

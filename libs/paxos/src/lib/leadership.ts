// A leader's volatile bookkeeping for one ballot: votes per open slot,
// heartbeat rounds and the lease they earn, and each follower's catch-up
// progress. Lost on step-down; a new ballot starts afresh.
import type { Ballot } from './ballot';
import { newFollowerProgress, type FollowerProgress } from './follower-progress';

/** Heartbeat rounds remembered; older acks cannot extend the lease anyway. */
const heartbeatRoundsMax = 64;

interface HeartbeatRound {
  readonly acks: Set<string>;
  /** The commit point the round advertised: a follower that answers below it lacks entries. */
  readonly commitSlot: bigint;
}

export class Leadership {
  /** The tick this node became leader: the step-down clock before any majority answered. */
  readonly since: number;
  /** The no-op after the recovered slots; local reads wait until it is applied. */
  readonly barrierSlot: bigint;
  nextSlot: bigint;
  nextHeartbeatTick: number;
  /** Sent tick of the newest heartbeat a majority acknowledged. */
  leaseStart: number | undefined;
  /** Voters of each slot proposed in this ballot and not yet chosen; the leader's own vote counts once durable. */
  readonly votes = new Map<bigint, Set<string>>();
  private readonly heartbeats = new Map<number, HeartbeatRound>();
  private readonly progress = new Map<string, FollowerProgress>();

  constructor(
    readonly ballot: Ballot,
    barrierSlot: bigint,
    now: number,
  ) {
    this.since = now;
    this.barrierSlot = barrierSlot;
    this.nextSlot = barrierSlot + 1n;
    this.nextHeartbeatTick = now;
  }

  /** Records the vote; returns true when the slot just reached `quorum` (it is then forgotten). */
  vote(slot: bigint, voter: string, quorum: number): boolean {
    const voters = this.votes.get(slot);
    if (!voters) return false;
    voters.add(voter);
    if (voters.size < quorum) return false;
    this.votes.delete(slot);
    return true;
  }

  startHeartbeatRound(tick: number, commitSlot: bigint, self: string): void {
    this.heartbeats.set(tick, { acks: new Set([self]), commitSlot });
    if (this.heartbeats.size > heartbeatRoundsMax) {
      const oldest = this.heartbeats.keys().next().value as number;
      this.heartbeats.delete(oldest);
    }
  }

  /**
   * Records a heartbeat ack; once a majority acked the round, the lease
   * starts at `leaseFrom` (the round's SENT tick: the followers' promise
   * protection started no earlier). Returns the commit point the round
   * advertised, or undefined for a round no longer remembered.
   */
  ackHeartbeat(round: number, from: string, quorum: number, leaseFrom: number): bigint | undefined {
    const heartbeat = this.heartbeats.get(round);
    if (!heartbeat) return undefined;
    heartbeat.acks.add(from);
    if (heartbeat.acks.size >= quorum && (this.leaseStart === undefined || leaseFrom > this.leaseStart)) {
      this.leaseStart = leaseFrom;
    }
    return heartbeat.commitSlot;
  }

  progressOf(peer: string, now: number): FollowerProgress {
    let progress = this.progress.get(peer);
    if (!progress) {
      progress = newFollowerProgress(now);
      this.progress.set(peer, progress);
    }
    return progress;
  }
}

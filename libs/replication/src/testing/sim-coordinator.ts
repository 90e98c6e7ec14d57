// The coordinator as the simulator models it: one reliable process (the
// real one is a Paxos group, simulated on its own in libs/paxos) holding the
// group's record. It grants leases to the primary of the current epoch,
// takes in-sync changes from it, and fails over once the primary's lease
// has surely ended on its own clock: lease + drift after the last grant (or
// after the epoch began, when none came). It then asks the in-sync members
// for their durable logs and makes the most up-to-date one primary of the
// next epoch, unless a grant came in meanwhile (the revision fence).
import type { Durability, GroupView } from '../lib/messages';

export interface DurableAnswer {
  readonly lastSequence: bigint;
  readonly lastEpoch: bigint;
}

export interface CoordinatorTiming {
  readonly leaseMs: number;
  readonly clockDriftMs: number;
  /** How long a failover collects durable states before it decides. */
  readonly collectMs: number;
}

interface FailoverRound {
  readonly startedLocalMs: number;
  readonly leaseRevision: number;
  readonly target: string | undefined;
  readonly answers: Map<string, DurableAnswer>;
}

export class SimCoordinator {
  private record: GroupView;
  private leaseRevision = 0;
  /** Local time of the last grant, or of the epoch's start while none came. */
  private leaseFromLocalMs: number;
  private round: FailoverRound | undefined;
  /** A manual failover waits for the lease to end: no more grants until then. */
  private handingOverTo: string | undefined;
  private readonly epochStartedAtRealMs = new Map<bigint, number>();
  private failovers = 0;
  private readonly inSyncRequestsSeen = new Set<string>();

  constructor(
    members: readonly string[],
    mode: Durability,
    private readonly timing: CoordinatorTiming,
    nowLocalMs: number,
    nowRealMs: number,
  ) {
    this.record = {
      epoch: 1n,
      primary: members[0] as string,
      members: [...members],
      inSync: [...members],
      mode,
      revision: 1n,
    };
    this.leaseFromLocalMs = nowLocalMs;
    this.epochStartedAtRealMs.set(1n, nowRealMs);
  }

  get view(): GroupView {
    return this.record;
  }

  get failoverCount(): number {
    return this.failovers;
  }

  /** When the coordinator committed `epoch` (real time), if it did. */
  epochStartedAt(epoch: bigint): number | undefined {
    return this.epochStartedAtRealMs.get(epoch);
  }

  /** RenewPrimaryLease: the lease length granted, or undefined when refused. */
  renewLease(from: string, epoch: bigint, nowLocalMs: number): number | undefined {
    if (epoch !== this.record.epoch || from !== this.record.primary || this.handingOverTo !== undefined)
      return undefined;
    this.leaseRevision++;
    this.leaseFromLocalMs = nowLocalMs;
    return this.timing.leaseMs;
  }

  /**
   * UpdateInSyncSet from the primary of the current epoch; true when applied
   * (the view changed). A request id seen before is not applied again, as
   * the coordinators' request table answers it with its first outcome.
   */
  updateInSync(from: string, epoch: bigint, inSync: readonly string[], requestId: string): boolean {
    if (this.inSyncRequestsSeen.has(requestId)) return false;
    this.inSyncRequestsSeen.add(requestId);
    const { record } = this;
    if (epoch !== record.epoch || from !== record.primary || !inSync.includes(from)) return false;
    if (!inSync.every((member) => record.members.includes(member))) return false;
    const ordered = record.members.filter((member) => inSync.includes(member));
    if (ordered.length === record.inSync.length && ordered.every((member, index) => record.inSync[index] === member)) {
      return false;
    }
    this.record = { ...record, inSync: ordered, revision: record.revision + 1n };
    return true;
  }

  /** The Failover RPC: hand over to `target` (an in-sync member) once the current lease has ended. */
  requestHandover(target: string): void {
    if (this.record.inSync.includes(target) && target !== this.record.primary) this.handingOverTo = target;
  }

  durableAnswer(from: string, answer: DurableAnswer): void {
    this.round?.answers.set(from, answer);
  }

  /**
   * Called on every coordinator tick. Returns the members to ask for their
   * durable state when a failover round starts, and whether the record
   * changed (a new epoch).
   */
  tick(nowLocalMs: number, nowRealMs: number): { query: readonly string[]; changed: boolean } {
    const leaseEnded = nowLocalMs > this.leaseFromLocalMs + this.timing.leaseMs + this.timing.clockDriftMs;
    if (!this.round) {
      if (!leaseEnded) return { query: [], changed: false };
      this.round = {
        startedLocalMs: nowLocalMs,
        leaseRevision: this.leaseRevision,
        target: this.handingOverTo,
        answers: new Map(),
      };
      return { query: this.record.inSync, changed: false };
    }
    if (nowLocalMs - this.round.startedLocalMs < this.timing.collectMs) return { query: [], changed: false };
    const round = this.round;
    this.round = undefined;
    if (round.leaseRevision !== this.leaseRevision) return { query: [], changed: false };
    const chosen = this.choose(round);
    if (chosen === undefined) return { query: [], changed: false };
    const old = this.record;
    const inSync = chosen === old.primary ? old.inSync : old.inSync.filter((member) => member !== old.primary);
    this.record = { ...old, epoch: old.epoch + 1n, primary: chosen, inSync, revision: old.revision + 1n };
    this.leaseFromLocalMs = nowLocalMs;
    this.handingOverTo = undefined;
    this.epochStartedAtRealMs.set(this.record.epoch, nowRealMs);
    this.failovers++;
    return { query: [], changed: true };
  }

  /** The handover target if it answered, else the in-sync member with the most up-to-date durable log. */
  private choose(round: FailoverRound): string | undefined {
    const candidates = [...round.answers].filter(([member]) => this.record.inSync.includes(member));
    if (round.target !== undefined && candidates.some(([member]) => member === round.target)) return round.target;
    let best: [string, DurableAnswer] | undefined;
    for (const candidate of candidates) {
      const [, answer] = candidate;
      if (
        !best ||
        answer.lastEpoch > best[1].lastEpoch ||
        (answer.lastEpoch === best[1].lastEpoch && answer.lastSequence > best[1].lastSequence)
      ) {
        best = candidate;
      }
    }
    return best?.[0];
  }
}

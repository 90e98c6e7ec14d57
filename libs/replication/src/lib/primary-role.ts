// What a member does while it is the primary of an epoch: stream its log
// to every backup, count what they hold, decide the commit point, keep the
// in-sync set honest through the coordinator, and hold its lease. A new
// PrimaryRole per epoch; it is dropped when the member steps down.
import { agreedThrough, EpochHistory } from './epoch-history';
import type { AppendBatch, BackupState, CoordinatorRequest, GroupView, LogEntry, ReplicationMessage } from './messages';
import type { ReplicatedLog } from './replicated-log';
import type { ReplicationSettings } from './settings';

/** What the role uses of its member. */
export interface PrimaryContext {
  readonly id: string;
  readonly epoch: bigint;
  readonly settings: ReplicationSettings;
  readonly log: ReplicatedLog;
  /** The member's own durable sequence. */
  durable(): bigint;
  nowMs(): number;
  /** Sent before the member's write completes: the entries promise nothing. */
  send(message: ReplicationMessage): void;
  request(request: CoordinatorRequest): void;
}

interface BackupProgress {
  /**
   * hello: waiting for its BackupState; snapshot: sent to fetch the
   * snapshot; probing: one batch sent from where the logs agree, waiting for
   * its ack (so a backup that answers every batch with its state cannot
   * multiply the traffic); replicating: a window of batches in flight.
   */
  state: 'hello' | 'snapshot' | 'probing' | 'replicating';
  /** The next sequence to send. */
  next: bigint;
  /** The last sequence it acknowledged as durable and agreeing with this log. */
  match: bigint;
  lastSentMs: number;
  /**
   * When it last answered, with any Ack or its state (or a resend was
   * started): entries sent and not acked go again only after it has been
   * silent this long. A backup that answers, if slowly, has them queued on
   * the stream: a lost batch or a gap shows at the next batch or heartbeat,
   * whose previous entry it lacks (it answers with its state). Resending on
   * slowness alone made a backup that fell behind under load decode the
   * whole window again and fall further behind.
   */
  lastAnsweredMs: number;
  /** Since when it has held back the newest entry without acknowledging anything. */
  behindSinceMs: number;
  /** The stamp of its latest Ack since its BackupState, echoed in every batch (0: none). */
  ackEcho: bigint;
}

const never = Number.NEGATIVE_INFINITY;

/** How far one backup is behind this primary. */
export interface BackupLag {
  readonly memberId: string;
  /** The commit rule counts it (confirmed or proposed). */
  readonly inSync: boolean;
  readonly ackedSequence: bigint;
  readonly lagEntries: bigint;
  /** How long it has held back the newest entry; 0 when it holds everything. */
  readonly lagMs: number;
}

export class PrimaryRole {
  /** Everything through it is committed. */
  protected commit: bigint;
  /** Everything through it is on the disk of every member the commit rule counts. */
  private synced = 0n;
  /** The epoch's no-op: once it commits, every write earlier primaries acknowledged has. */
  protected readonly epochStart: bigint;
  private readonly progress = new Map<string, BackupProgress>();
  private readonly asyncSequences = new Set<bigint>();
  private uncommittedBytes = 0;
  private leaseUntilMs = never;
  private lastRenewRequestMs = never;
  /** The length of the last lease granted in this epoch; 0 before the first. */
  private grantedLeaseMs = 0;
  private view: GroupView;
  private inSyncConfirmed: readonly string[];
  private inSyncProposal: readonly string[] | undefined;
  private proposalSentMs = never;
  /** In-sync changes proposed in this epoch: each one's request id. */
  private proposalsMade = 0;

  /** Starts the epoch of `view` on `context.log`; `committed` is what the member already knows committed. */
  constructor(
    protected readonly context: PrimaryContext,
    view: GroupView,
    committed: bigint,
  ) {
    this.view = view;
    this.inSyncConfirmed = [...view.inSync];
    this.commit = committed;
    const { log } = context;
    for (let sequence = committed + 1n; sequence <= log.lastSequence; sequence++) {
      this.uncommittedBytes += (log.entry(sequence) as LogEntry).command.length;
    }
    for (const member of view.members) if (member !== context.id) this.track(member);
    this.epochStart = this.append(new Uint8Array(0));
    this.renewLease();
  }

  get commitSequence(): bigint {
    return this.commit;
  }

  get epochStartSequence(): bigint {
    return this.epochStart;
  }

  holdsLease(nowMs: number): boolean {
    return nowMs < this.leaseUntilMs;
  }

  /** Under the lease, with the epoch's first entry applied: every acknowledged write is. */
  canReadStrongly(nowMs: number, applied: bigint): boolean {
    return this.holdsLease(nowMs) && applied >= this.epochStart;
  }

  /**
   * Whether the writer of committed entry `sequence` may be told now: it is
   * on every in-sync member's disk, or (committed on this disk alone) the
   * lease still holds. A write committed under the lease but answered after
   * it ended may be missing from the next primary.
   */
  mayAcknowledge(sequence: bigint, nowMs: number): boolean {
    return sequence <= this.synced || this.holdsLease(nowMs);
  }

  /** Each backup's progress, for status and metrics. */
  backupProgress(): BackupLag[] {
    const nowMs = this.context.nowMs();
    const last = this.context.log.lastSequence;
    return [...this.progress].map(([memberId, progress]) => ({
      memberId,
      inSync: this.countsForCommit(memberId),
      ackedSequence: progress.match,
      lagEntries: last - progress.match,
      lagMs: progress.match >= last ? 0 : Math.max(0, nowMs - progress.behindSinceMs),
    }));
  }

  /** Whether the commit rule counts memberId: a member of commitSet(), asked without building it. */
  countsForCommit(memberId: string): boolean {
    return this.inSyncConfirmed.includes(memberId) || (this.inSyncProposal?.includes(memberId) ?? false);
  }

  /** The in-sync set the commit rule counts: the confirmed one and any proposed change. */
  commitSet(): string[] {
    return [...new Set([...this.inSyncConfirmed, ...(this.inSyncProposal ?? [])])];
  }

  /** Whether a write may be taken: false when too much is uncommitted (flow control). */
  hasRoomFor(bytes: number): boolean {
    const uncommitted = this.context.log.lastSequence - this.commit;
    return (
      uncommitted < BigInt(this.context.settings.uncommittedEntriesMax) &&
      this.uncommittedBytes + bytes <= this.context.settings.uncommittedBytesMax
    );
  }

  /** Stamps a client write; async ones may commit on this member's disk alone, under the lease. */
  propose(command: Uint8Array, asynchronous: boolean): bigint {
    const sequence = this.append(command);
    if (asynchronous) this.asyncSequences.add(sequence);
    return sequence;
  }

  /** See ReplicaNode.resumedAfterPause: the backups' timers move on by the time this process did not run. */
  forgivePause(pausedMs: number): void {
    if (!(pausedMs > 0)) return;
    for (const progress of this.progress.values()) {
      progress.behindSinceMs += pausedMs;
      progress.lastAnsweredMs += pausedMs;
    }
  }

  tick(started: boolean): void {
    const nowMs = this.context.nowMs();
    if (nowMs - this.lastRenewRequestMs >= this.renewalIntervalMs()) this.renewLease();
    if (!started) return;
    this.maintainInSyncSet();
    this.recomputeCommit();
  }

  /** The coordinator's record at this epoch: the confirmed in-sync set and the members. */
  observeView(view: GroupView): void {
    this.view = view;
    this.inSyncConfirmed = [...view.inSync];
    if (this.inSyncProposal && sameMembers(this.inSyncProposal, view.inSync)) this.inSyncProposal = undefined;
    for (const member of view.members) if (member !== this.context.id && !this.progress.has(member)) this.track(member);
    this.recomputeCommit();
  }

  leaseGranted(requestedAtMs: number, leaseMs: number): void {
    this.grantedLeaseMs = leaseMs;
    const until = requestedAtMs + leaseMs - this.context.settings.clockDriftMs;
    if (until > this.leaseUntilMs) this.leaseUntilMs = until;
    this.recomputeCommit();
  }

  onBackupState(state: BackupState): void {
    const progress = this.progress.get(state.from);
    if (!progress) return;
    // A new stream, maybe a new process: an echo of an earlier one's acks would mean nothing to it.
    progress.ackEcho = 0n;
    let history: EpochHistory;
    try {
      history = EpochHistory.from(state.epochStarts);
    } catch {
      return; // malformed: the backup will be asked again
    }
    const { log } = this.context;
    const agreed = agreedThrough(log, { history, lastSequence: state.lastSequence });
    if (agreed < progress.match) progress.match = agreed;
    progress.lastAnsweredMs = this.context.nowMs();
    // After a gap every batch still in flight is answered with the same state: one probe from there is enough.
    const probingThere = progress.state === 'probing' && progress.next === agreed + 1n;
    progress.next = agreed + 1n;
    progress.state = 'probing';
    if (!probingThere) progress.lastSentMs = never;
  }

  onAck(from: string, durableSequence: bigint, stamp: bigint): void {
    const progress = this.progress.get(from);
    if (!progress) return;
    const nowMs = this.context.nowMs();
    // Every ack counts for the echo and as an answer, also one that acknowledges nothing new (an answer to a heartbeat).
    // The latest, not the largest: a restarted backup's stamps start again from its new clock, below its old ones, and
    // only a BackupState (which a backup whose log is complete never sends) would reset the largest.
    progress.ackEcho = stamp;
    progress.lastAnsweredMs = nowMs;
    const { log } = this.context;
    const acked = durableSequence < log.lastSequence ? durableSequence : log.lastSequence;
    if (progress.state === 'probing' && acked >= progress.next - 1n) progress.state = 'replicating';
    if (acked <= progress.match) return;
    progress.match = acked;
    progress.behindSinceMs = nowMs;
    if (progress.next <= acked) progress.next = acked + 1n;
    this.recomputeCommit();
  }

  /** Whether a batch, heartbeat, probe or Hello is due to some backup. */
  sendsDue(): boolean {
    const nowMs = this.context.nowMs();
    const { log } = this.context;
    for (const progress of this.progress.values()) {
      if (nowMs - progress.lastSentMs >= this.resendOrHeartbeatMs(progress)) return true;
      if (progress.state === 'replicating' && progress.next <= log.lastSequence && this.windowLeft(progress) > 0) {
        return true;
      }
    }
    return false;
  }

  /** Sends what is due to every backup: the log from where each one stands, as far as its window allows. */
  flushSends(): void {
    const { log, settings } = this.context;
    const nowMs = this.context.nowMs();
    for (const [to, progress] of this.progress) {
      if (progress.state === 'replicating' && progress.next - 1n > progress.match) {
        // Entries in flight to a backup silent for a while are lost, or their acks are: send them again.
        if (nowMs - progress.lastAnsweredMs >= settings.resendAfterMs) {
          progress.next = progress.match + 1n;
          progress.lastAnsweredMs = nowMs;
        }
      }
      if (progress.state !== 'hello' && progress.state !== 'snapshot' && progress.next < log.firstSequence) {
        progress.state = 'snapshot';
        progress.lastSentMs = never;
      }
      switch (progress.state) {
        case 'hello':
          if (nowMs - progress.lastSentMs >= settings.resendAfterMs) {
            this.context.send({ type: 'hello', from: this.context.id, to, epoch: this.context.epoch });
            progress.lastSentMs = nowMs;
          }
          break;
        case 'snapshot':
          if (nowMs - progress.lastSentMs >= settings.resendAfterMs) {
            const epoch = this.context.epoch;
            const logStartSequence = log.firstSequence;
            const commitSequence = this.synced;
            this.context.send({
              type: 'needSnapshot',
              from: this.context.id,
              to,
              epoch,
              logStartSequence,
              commitSequence,
            });
            progress.lastSentMs = nowMs;
          }
          break;
        case 'probing':
          if (nowMs - progress.lastSentMs >= this.resendOrHeartbeatMs(progress)) {
            const entries = log.slice(progress.next, settings.batchEntriesMax, settings.batchBytesMax);
            this.context.send(this.appendBatch(to, progress.next - 1n, entries));
            progress.lastSentMs = nowMs;
          }
          break;
        case 'replicating':
          this.sendWindow(to, progress);
          break;
      }
    }
  }

  private sendWindow(to: string, progress: BackupProgress): void {
    const { log, settings } = this.context;
    const nowMs = this.context.nowMs();
    let sent = false;
    while (progress.next <= log.lastSequence && this.windowLeft(progress) > 0) {
      const entriesMax = Math.min(settings.batchEntriesMax, this.windowLeft(progress));
      const entries = log.slice(progress.next, entriesMax, settings.batchBytesMax);
      this.context.send(this.appendBatch(to, progress.next - 1n, entries));
      progress.next += BigInt(entries.length);
      sent = true;
    }
    if (!sent && nowMs - progress.lastSentMs >= settings.heartbeatIntervalMs) {
      this.context.send(this.appendBatch(to, progress.next - 1n, []));
      sent = true;
    }
    if (sent) progress.lastSentMs = nowMs;
  }

  private resendOrHeartbeatMs(progress: BackupProgress): number {
    const { settings } = this.context;
    if (progress.state === 'replicating') return settings.heartbeatIntervalMs;
    if (progress.state === 'probing' && progress.lastSentMs === never) return 0;
    return settings.resendAfterMs;
  }

  private windowLeft(progress: BackupProgress): number {
    return this.context.settings.windowEntriesMax - Number(progress.next - 1n - progress.match);
  }

  private appendBatch(to: string, prevSequence: bigint, entries: readonly LogEntry[]): AppendBatch {
    return {
      type: 'append',
      from: this.context.id,
      to,
      epoch: this.context.epoch,
      prevSequence,
      prevEpoch: this.context.log.epochAt(prevSequence),
      entries,
      // What every in-sync member has: a backup applies no further, so what
      // it applied survives any failover (an entry committed on this disk
      // alone, written asynchronously, may not).
      commitSequence: this.synced,
      ackEcho: this.vouchesForFreshness() ? (this.progress.get(to)?.ackEcho ?? 0n) : 0n,
    };
  }

  /**
   * Whether this batch's commit point covers every write any primary has
   * acknowledged so far, so an echo may vouch for a backup's freshness: only
   * under this primary's lease (no later primary can have acknowledged
   * anything yet) and once its epoch's first entry is in the commit point
   * (every write earlier primaries acknowledged is then).
   */
  protected vouchesForFreshness(): boolean {
    return this.holdsLease(this.context.nowMs()) && this.synced >= this.epochStart;
  }

  private track(member: string): void {
    const nowMs = this.context.nowMs();
    this.progress.set(member, {
      state: 'hello',
      next: this.context.log.lastSequence + 1n,
      match: 0n,
      lastSentMs: never,
      lastAnsweredMs: nowMs,
      behindSinceMs: nowMs,
      ackEcho: 0n,
    });
  }

  private append(command: Uint8Array): bigint {
    const { log } = this.context;
    const sequence = log.lastSequence + 1n;
    for (const progress of this.progress.values()) {
      if (progress.match === sequence - 1n) progress.behindSinceMs = this.context.nowMs();
    }
    log.append({ sequence, epoch: this.context.epoch, command });
    this.uncommittedBytes += command.length;
    return sequence;
  }

  /**
   * A third of the granted lease, as etcd's keepalives and Chubby's: every
   * renewal is a Paxos round on every coordinator and an event to every
   * watcher, so renewing more often costs the whole fleet CPU, while two
   * more tries before the lease ends ride out a lost answer (the runner
   * sends the next renewal while a lost one still waits). A pause shorter
   * than two thirds of the lease less the drift bound (340 ms by default)
   * leaves no gap; the coordinators fail over only past two thirds plus the
   * drift bound (460 ms). Before the first grant, leaseRequestRetryMs.
   */
  private renewalIntervalMs(): number {
    return this.grantedLeaseMs > 0
      ? Math.max(1, Math.floor(this.grantedLeaseMs / 3))
      : this.context.settings.leaseRequestRetryMs;
  }

  private renewLease(): void {
    this.context.request({ type: 'renewLease', epoch: this.context.epoch });
    this.lastRenewRequestMs = this.context.nowMs();
  }

  /**
   * The commit point: every member the commit rule counts has the entry on
   * disk (the primary's own write included); past that, entries written
   * asynchronously, on the primary's disk, while its lease holds.
   */
  private recomputeCommit(): void {
    const { log } = this.context;
    const durable = this.context.durable();
    const synced = this.syncedThrough();
    if (synced > this.synced) this.synced = synced;
    let commit = this.commit;
    while (commit < synced) {
      commit++;
      this.asyncSequences.delete(commit);
    }
    if (this.holdsLease(this.context.nowMs())) {
      while (commit < durable && this.asyncSequences.delete(commit + 1n)) commit++;
    }
    for (let sequence = this.commit + 1n; sequence <= commit; sequence++) {
      this.uncommittedBytes -= (log.entry(sequence) as LogEntry).command.length;
    }
    this.commit = commit;
  }

  /**
   * PacificA's reconfiguration, one change at a time, counted by the commit
   * rule from the moment it is proposed until the coordinator's view shows
   * it: drop an in-sync backup that has held back a write longer than the
   * ack timeout; add back one that may join (mayAddToInSync).
   */
  private maintainInSyncSet(): void {
    const { settings, log } = this.context;
    const nowMs = this.context.nowMs();
    if (this.inSyncProposal) {
      if (nowMs - this.proposalSentMs >= settings.coordinatorRetryMs) this.sendInSyncProposal(this.inSyncProposal);
      return;
    }
    // Called on every write and message: the sets are built only when the in-sync set is to change.
    let next: Set<string> | undefined;
    const change = (): Set<string> => (next ??= new Set(this.inSyncConfirmed));
    for (const [member, progress] of this.progress) {
      if (this.inSyncConfirmed.includes(member)) {
        const behind = progress.match < log.lastSequence;
        if (behind && nowMs - progress.behindSinceMs > settings.ackTimeoutMs) change().delete(member);
      } else if (
        this.view.members.includes(member) &&
        progress.state === 'replicating' &&
        this.mayAddToInSync(progress.match)
      ) {
        change().add(member);
      }
    }
    if (!this.inSyncConfirmed.includes(this.context.id)) change().add(this.context.id);
    if (!next) return;
    const proposed = next;
    this.inSyncProposal = this.view.members.filter((member) => proposed.has(member));
    this.proposalsMade++;
    this.sendInSyncProposal(this.inSyncProposal);
  }

  private sendInSyncProposal(inSync: readonly string[]): void {
    const { id, epoch } = this.context;
    // Unique to this proposal: a member leads an epoch once, and counts its proposals in it.
    const requestId = `in-sync/${id}/${epoch}/${this.proposalsMade}`;
    this.context.request({ type: 'updateInSync', epoch, inSync, requestId });
    this.proposalSentMs = this.context.nowMs();
  }

  // ---- Rules the simulator's planted bugs override (testing/mutant-node.ts) ----

  /** The last sequence every member the commit rule counts has on disk, this primary included. */
  protected syncedThrough(): bigint {
    let synced = this.context.durable();
    // The commit set's two parts, not commitSet(): this runs on every write and message. A member in both counts twice, harmlessly.
    for (const part of [this.inSyncConfirmed, this.inSyncProposal ?? []]) {
      for (const member of part) {
        if (member === this.context.id) continue;
        const match = this.progress.get(member)?.match ?? 0n;
        if (match < synced) synced = match;
      }
    }
    return synced;
  }

  /**
   * A backup that holds `match` may join the in-sync set: it holds every
   * committed entry, and an entry of this epoch has committed (before that,
   * the commit point this primary knows may be short of what earlier
   * primaries acknowledged).
   */
  protected mayAddToInSync(match: bigint): boolean {
    return this.commit >= this.epochStart && match >= this.commit;
  }
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((member) => set.has(member));
}

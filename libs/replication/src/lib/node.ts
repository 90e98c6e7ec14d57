// One member of a replica group: the pure core (etcd-raft's shape, as
// libs/paxos). Time enters as tick(nowMs) on the runner's monotonic clock;
// the coordinator's view, coordinator answers, peer messages and client
// writes come in as calls; everything to do comes out as a Ready.
//
// The rules (README, "Design"): the primary of epoch e stamps entries
// (e, sequence); a backup appends only entries that follow what it holds
// (the previous entry's epoch must match) and drops a divergent suffix;
// an entry commits once every member of the in-sync set has it on disk
// (or, written asynchronously, once the primary has it, under its lease);
// the in-sync set shrinks through the coordinator before a later write is
// acknowledged; a primary acts only under its lease and reads only after an
// entry of its own epoch committed. The primary's side is in PrimaryRole.
import type {
  AppendBatch,
  BackupState,
  CoordinatorRequest,
  Durability,
  GroupView,
  LogEntry,
  ReplicationMessage,
  SnapshotPoint,
} from './messages';
import { PrimaryRole, type BackupLag, type PrimaryContext } from './primary-role';
import type { PersistBatch, Ready } from './ready';
import { ReplicatedLog } from './replicated-log';
import { validateReplicationSettings, type ReplicationSettings } from './settings';

/** What a member recovered from its disk. */
export interface RecoveredReplica {
  readonly highestEpoch: bigint;
  readonly ledEpoch: bigint;
  /** The snapshot its log starts after; lastSequence 0 when it has none. */
  readonly snapshot: SnapshotPoint;
  readonly entries: readonly LogEntry[];
}

/** Acks a backup remembers while waiting for their echo: a primary that never echoes costs no more. */
const acksRememberedMax = 1_024;

export const emptySnapshotPoint: SnapshotPoint = Object.freeze({ lastSequence: 0n, lastEpoch: 0n, epochStarts: [] });

export const freshReplica: RecoveredReplica = Object.freeze({
  highestEpoch: 0n,
  ledEpoch: 0n,
  snapshot: emptySnapshotPoint,
  entries: [],
});

/** backup; starting: primary of an epoch whose no-op and led epoch are being made durable; primary. */
export type ReplicaRole = 'backup' | 'starting' | 'primary';

export type ProposeResult =
  | { readonly ok: true; readonly sequence: bigint; readonly epoch: bigint }
  | { readonly ok: false; readonly reason: 'not-primary'; readonly primary: string }
  | { readonly ok: false; readonly reason: 'starting' | 'no-lease' | 'backlog-full' };

interface InFlightReady {
  /** The member's durable sequence once the Ready's batch is written (lowered if a truncation overtakes it). */
  durableTarget: bigint;
  committedThrough: bigint;
  /** The batch holds the led epoch and no-op of `epoch`: once durable, this member acts as its primary. */
  startsEpoch: bigint | undefined;
}

export class ReplicaNode {
  private readonly settings: ReplicationSettings;
  private nowMs: number;

  private highestEpochSeen: bigint;
  private ledEpochValue: bigint;
  private epochToPersist = false;
  private ledEpochToPersist = false;
  /** The newest view of highestEpochSeen, by revision. */
  private viewSeen: GroupView | undefined;
  /** Set while this member is the primary of highestEpochSeen (starting or started). */
  private primaryRole: PrimaryRole | undefined;
  private primaryStarted = false;
  /** The primary of highestEpochSeen, '' while unknown. */
  private primaryOfEpoch = '';

  private readonly log: ReplicatedLog;
  private durable: bigint;
  /** The first sequence not yet handed to the runner for writing. */
  private persistFrom: bigint;
  private truncateToPersist: bigint | undefined;
  private inFlight: InFlightReady | undefined;
  /** The last committed sequence handed out to apply, and the last the runner reported applied. */
  private handedOut: bigint;
  private appliedValue: bigint;

  // Backup side: how far this log agrees with the primary's, what it said is committed.
  private matched = 0n;
  private commitHeard = 0n;
  /**
   * As of when (this clock) the commit point heard covers every write the
   * primary acknowledged: when this member sent the Ack whose stamp the
   * primary echoed in a batch, not when the batch arrived (see AppendBatch).
   */
  private primaryHeardAtMs = Number.NEGATIVE_INFINITY;
  /** Acks sent and not yet echoed, oldest first: their stamps and when (this clock) each was made. */
  private readonly acksSent: { readonly stamp: bigint; readonly atMs: number }[] = [];
  private lastAckStamp = 0n;
  /** The last time this backup had applied everything the primary had said was committed. */
  private freshAsOfMs = Number.NEGATIVE_INFINITY;
  private ackDue = false;
  private stateReplyDue = false;
  private snapshotRequested = false;
  private readonly staleEpochReplies = new Set<string>();

  // Output being gathered for the next Ready.
  private discardState = false;
  private sendEarly: ReplicationMessage[] = [];
  private sendLate: ReplicationMessage[] = [];
  private coordinatorRequests: CoordinatorRequest[] = [];
  private abandonedFrom: bigint | undefined;
  private fetchSnapshot: { from: string; epoch: bigint } | undefined;

  constructor(
    readonly id: string,
    settings: ReplicationSettings,
    recovered: RecoveredReplica,
    nowMs: number,
  ) {
    this.settings = validateReplicationSettings(settings);
    this.nowMs = nowMs;
    this.highestEpochSeen = recovered.highestEpoch;
    this.ledEpochValue = recovered.ledEpoch;
    this.log = new ReplicatedLog(recovered.snapshot, recovered.entries);
    this.durable = this.log.lastSequence;
    this.persistFrom = this.durable + 1n;
    this.handedOut = recovered.snapshot.lastSequence;
    this.appliedValue = recovered.snapshot.lastSequence;
  }

  // ---- What the runner and the service read ----

  get role(): ReplicaRole {
    if (!this.primaryRole) return 'backup';
    return this.primaryStarted ? 'primary' : 'starting';
  }

  get epoch(): bigint {
    return this.highestEpochSeen;
  }

  get ledEpoch(): bigint {
    return this.ledEpochValue;
  }

  /** The primary of the newest epoch this member knows, '' while unknown. */
  get primary(): string {
    return this.primaryOfEpoch;
  }

  get view(): GroupView | undefined {
    return this.viewSeen;
  }

  get lastSequence(): bigint {
    return this.log.lastSequence;
  }

  get durableSequence(): bigint {
    return this.durable;
  }

  get appliedSequence(): bigint {
    return this.appliedValue;
  }

  /** The primary's commit point, or what a backup last heard of it. */
  get commitSequence(): bigint {
    return this.primaryRole ? this.primaryRole.commitSequence : this.commitHeard;
  }

  /** The first sequence of this primary's epoch (its no-op); 0 for a backup. */
  get epochStartSequence(): bigint {
    return this.primaryRole?.epochStartSequence ?? 0n;
  }

  /** The log's entry at `sequence`, if still in memory. */
  entry(sequence: bigint): LogEntry | undefined {
    return this.log.entry(sequence);
  }

  epochAt(sequence: bigint): bigint {
    return this.log.epochAt(sequence);
  }

  /** What this member answers the coordinator choosing a new primary: its durable log's end. */
  durableState(): { readonly lastSequence: bigint; readonly lastEpoch: bigint } {
    return { lastSequence: this.durable, lastEpoch: this.log.epochAt(this.durable) };
  }

  /** The point a snapshot of the applied state covers, for the runner's own snapshots. */
  snapshotPoint(): SnapshotPoint {
    const lastSequence = this.appliedValue;
    return {
      lastSequence,
      lastEpoch: this.log.epochAt(lastSequence),
      epochStarts: this.log.epochStartsThrough(lastSequence),
    };
  }

  /** The snapshot this member's log starts after. */
  get logSnapshot(): SnapshotPoint {
    return this.log.snapshot;
  }

  holdsLease(nowMs: number = this.nowMs): boolean {
    return this.primaryStarted && (this.primaryRole?.holdsLease(nowMs) ?? false);
  }

  /**
   * Whether a STRONG read may be answered from the applied state now: this
   * member is primary under its lease, and its epoch's first entry is
   * applied, so every write an earlier primary acknowledged is too.
   */
  canReadStrongly(nowMs: number = this.nowMs): boolean {
    return this.primaryStarted && (this.primaryRole?.canReadStrongly(nowMs, this.appliedValue) ?? false);
  }

  /**
   * Whether the writer of a committed entry this primary applied may be told
   * it succeeded, at `nowMs` of the runner's clock (read when answering).
   * Otherwise its outcome is unknown to the caller.
   */
  mayAcknowledge(sequence: bigint, nowMs: number): boolean {
    return this.primaryRole?.mayAcknowledge(sequence, nowMs) ?? false;
  }

  /**
   * How far behind the primary this member's applied state may be, in ms of
   * its clock: 0 for a primary under its lease; for a backup, the time since
   * it sent the Ack that the primary echoed in a batch whose commit point it
   * has applied (so a batch late in flight counts for no more than it is
   * worth); Infinity when it never had, in this epoch.
   */
  stalenessMs(nowMs: number = this.nowMs): number {
    if (this.primaryRole) return this.holdsLease(nowMs) ? 0 : Number.POSITIVE_INFINITY;
    return nowMs - this.freshAsOfMs;
  }

  /** On a primary, each backup's progress and lag; empty on a backup. */
  backupLag(): BackupLag[] {
    return this.primaryRole?.backupProgress() ?? [];
  }

  /** On a primary, whether its commit rule counts memberId (itself always); false on a backup. */
  countsForCommit(memberId: string): boolean {
    if (!this.primaryRole) return false;
    return memberId === this.id || this.primaryRole.countsForCommit(memberId);
  }

  // ---- Inputs ----

  tick(nowMs: number): void {
    if (nowMs > this.nowMs) this.nowMs = nowMs;
    this.primaryRole?.tick(this.primaryStarted);
  }

  /**
   * This process did not run for pausedMs (stopped, swapped out, a long GC),
   * as its runner saw from a late tick; call it before the tick with the time
   * after. The backups' answers of that time still wait unread, so a primary
   * does not count it against them (dropping them from the in-sync set,
   * resending to them); its lease counts it, as it must.
   */
  resumedAfterPause(pausedMs: number): void {
    this.primaryRole?.forgivePause(pausedMs);
  }

  /**
   * The coordinator's record of the group, from its watch or an answer.
   * Older epochs, and older revisions of this epoch, are ignored: a stale
   * in-sync set taken back would let the primary commit without a member
   * the coordinators may make the next primary.
   */
  observeView(view: GroupView): void {
    if (view.epoch < this.highestEpochSeen || this.isOlderThanViewSeen(view)) return;
    if (view.epoch > this.highestEpochSeen) this.raiseEpoch(view.epoch, view.primary);
    this.viewSeen = view;
    this.primaryOfEpoch = view.primary;
    if (this.primaryRole) this.primaryRole.observeView(view);
    else if (view.primary === this.id && view.epoch > this.ledEpochValue) this.becomePrimary(view);
  }

  /** The coordinator granted `leaseMs` for a renewal sent at `requestedAtMs` (read just before sending). */
  leaseGranted(epoch: bigint, requestedAtMs: number, leaseMs: number): void {
    if (epoch === this.highestEpochSeen) this.primaryRole?.leaseGranted(requestedAtMs, leaseMs);
  }

  /** A client write; `durability` undefined takes the group's mode. */
  propose(command: Uint8Array, durability?: Durability): ProposeResult {
    const primary = this.primaryRole;
    if (!primary) return { ok: false, reason: 'not-primary', primary: this.primaryOfEpoch };
    if (!this.primaryStarted) return { ok: false, reason: 'starting' };
    if (!primary.holdsLease(this.nowMs)) return { ok: false, reason: 'no-lease' };
    if (!primary.hasRoomFor(command.length)) return { ok: false, reason: 'backlog-full' };
    const asynchronous = (durability ?? this.viewSeen?.mode ?? 'sync') === 'async';
    return { ok: true, sequence: primary.propose(command, asynchronous), epoch: this.highestEpochSeen };
  }

  step(message: ReplicationMessage): void {
    if (message.to !== this.id || message.from === this.id) return;
    switch (message.type) {
      case 'hello':
        if (this.acceptFromPrimary(message)) this.stateReplyDue = true;
        return;
      case 'append':
        if (this.acceptFromPrimary(message)) this.onAppend(message);
        return;
      case 'needSnapshot':
        if (!this.acceptFromPrimary(message)) return;
        if (message.commitSequence > this.commitHeard) this.commitHeard = message.commitSequence;
        if (!this.snapshotRequested) {
          this.snapshotRequested = true;
          this.fetchSnapshot = { from: message.from, epoch: message.epoch };
        }
        return;
      case 'backupState':
        if (this.primaryStarted && message.epoch === this.highestEpochSeen) this.primaryRole?.onBackupState(message);
        return;
      case 'ack':
        if (this.primaryStarted && message.epoch === this.highestEpochSeen) {
          this.primaryRole?.onAck(message.from, message.durableSequence, message.stamp);
        }
        return;
      case 'staleEpoch':
        if (message.epoch > this.highestEpochSeen) this.raiseEpoch(message.epoch, '');
        return;
    }
  }

  /**
   * Whether a fetched snapshot may replace this member's state: only while
   * it asked for one, with no Ready in flight, not one behind what it
   * applied (readers would see time go back), and not past what every
   * in-sync member has (a primary's snapshot may hold writes acknowledged
   * asynchronously, which a failover may lose: a backup applies none).
   */
  acceptsSnapshot(point: SnapshotPoint): boolean {
    return (
      this.snapshotRequested &&
      point.lastSequence >= this.appliedValue &&
      point.lastSequence <= this.commitHeard &&
      !this.inFlight
    );
  }

  /** The runner installed the primary's snapshot (state and disk), which acceptsSnapshot allowed. */
  snapshotInstalled(point: SnapshotPoint): void {
    if (!this.acceptsSnapshot(point)) throw new Error('snapshotInstalled without acceptsSnapshot');
    this.log.reset(point);
    this.durable = point.lastSequence;
    this.persistFrom = point.lastSequence + 1n;
    this.truncateToPersist = undefined;
    this.handedOut = point.lastSequence;
    this.appliedValue = point.lastSequence;
    this.matched = point.lastSequence;
    this.snapshotRequested = false;
    this.stateReplyDue = true;
  }

  /** Fetching or installing the snapshot failed; the primary will ask again. */
  snapshotFetchFailed(): void {
    this.snapshotRequested = false;
  }

  /** The runner made a snapshot through point.lastSequence durable; entries before keepFrom leave memory. */
  compacted(point: SnapshotPoint, keepFrom: bigint): void {
    if (point.lastSequence > this.appliedValue) throw new RangeError('a snapshot past the applied sequence');
    this.log.compact(point, keepFrom);
  }

  /** Lease renewals and in-sync changes to send now: they wait for no write (see ready.ts). */
  takeCoordinatorRequests(): CoordinatorRequest[] {
    const requests = this.coordinatorRequests;
    this.coordinatorRequests = [];
    return requests;
  }

  hasReady(): boolean {
    if (this.inFlight) return false;
    return (
      this.discardState ||
      this.sendEarly.length > 0 ||
      this.sendLate.length > 0 ||
      this.abandonedFrom !== undefined ||
      this.fetchSnapshot !== undefined ||
      this.ackDue ||
      this.stateReplyDue ||
      this.staleEpochReplies.size > 0 ||
      this.epochToPersist ||
      this.ledEpochToPersist ||
      this.truncateToPersist !== undefined ||
      this.persistFrom <= this.log.lastSequence ||
      this.applyBound() > this.handedOut ||
      (this.primaryStarted && (this.primaryRole?.sendsDue() ?? false))
    );
  }

  takeReady(): Ready {
    if (this.inFlight) throw new Error('takeReady before advance() of the previous Ready');
    if (this.primaryStarted) this.primaryRole?.flushSends();
    this.gatherReplies();
    const bound = this.applyBound();
    const committed: LogEntry[] = [];
    for (let sequence = this.handedOut + 1n; sequence <= bound; sequence++) {
      committed.push(this.log.entry(sequence) as LogEntry);
    }
    if (bound > this.handedOut) this.handedOut = bound;
    const persist = this.takePersistBatch();
    const startsEpoch =
      persist?.ledEpoch !== undefined && this.primaryRole && !this.primaryStarted ? persist.ledEpoch : undefined;
    this.inFlight = {
      durableTarget: persist ? this.log.lastSequence : this.durable,
      committedThrough: this.handedOut,
      startsEpoch,
    };
    const ready: Ready = {
      discardState: this.discardState,
      sendBeforePersist: this.sendEarly,
      committed,
      abandonedFrom: this.abandonedFrom,
      persist,
      messages: this.sendLate,
      fetchSnapshot: this.fetchSnapshot,
    };
    this.discardState = false;
    this.sendEarly = [];
    this.sendLate = [];
    this.abandonedFrom = undefined;
    this.fetchSnapshot = undefined;
    return ready;
  }

  /** The last Ready is done: its batch is durable, its committed entries applied, its messages sent. */
  advance(): void {
    const done = this.inFlight;
    if (!done) throw new Error('advance() without a Ready in flight');
    this.inFlight = undefined;
    if (done.durableTarget > this.durable) this.durable = done.durableTarget;
    if (done.committedThrough > this.appliedValue) this.appliedValue = done.committedThrough;
    this.noteFreshness();
    if (done.startsEpoch !== undefined && this.primaryRole && done.startsEpoch === this.highestEpochSeen) {
      this.primaryStarted = true;
    }
    if (this.primaryStarted) this.primaryRole?.tick(true);
  }

  // ---- Epochs and roles ----

  private raiseEpoch(epoch: bigint, primary: string): void {
    this.highestEpochSeen = epoch;
    this.epochToPersist = true;
    this.primaryOfEpoch = primary;
    this.viewSeen = undefined;
    if (this.primaryRole) this.stepDown();
    this.matched = 0n;
    this.commitHeard = 0n;
    // A freshness time counts only with the commit point heard with it, which the new epoch starts over.
    this.primaryHeardAtMs = Number.NEGATIVE_INFINITY;
    this.snapshotRequested = false;
  }

  private stepDown(): void {
    // Writes not yet handed out to apply may still commit under the next
    // primary, or may not: their callers learn no outcome from this member.
    if (this.log.lastSequence > this.handedOut) this.abandonedFrom = this.handedOut + 1n;
    this.primaryRole = undefined;
    this.primaryStarted = false;
  }

  /**
   * Leads `view.epoch`: the no-op that starts it and the led epoch are made
   * durable before anything of the epoch is sent, so a crash never lets this
   * member lead the same epoch twice (with two different logs).
   */
  private becomePrimary(view: GroupView): void {
    this.ledEpochValue = view.epoch;
    this.ledEpochToPersist = true;
    this.primaryStarted = false;
    // What this member already handed out to apply is committed; the rest
    // of its log commits in this epoch once the in-sync set has it.
    this.primaryRole = this.createPrimaryRole(this.primaryContext(view.epoch), view, this.handedOut);
  }

  /** The primary's side of an epoch; the simulator's planted bugs override it. */
  protected createPrimaryRole(context: PrimaryContext, view: GroupView, committed: bigint): PrimaryRole {
    return new PrimaryRole(context, view, committed);
  }

  private primaryContext(epoch: bigint): PrimaryContext {
    return {
      id: this.id,
      epoch,
      settings: this.settings,
      log: this.log,
      durable: () => this.durable,
      nowMs: () => this.nowMs,
      send: (message) => this.sendEarly.push(message),
      request: (request) => this.coordinatorRequests.push(request),
    };
  }

  // ---- Backup side ----

  /** Epoch rules for a message from a primary; true when this member follows it. */
  private acceptFromPrimary(message: { from: string; epoch: bigint }): boolean {
    if (this.refusesEpoch(message.epoch)) {
      this.staleEpochReplies.add(message.from);
      return false;
    }
    if (message.epoch < this.highestEpochSeen) return true;
    if (message.epoch > this.highestEpochSeen) this.raiseEpoch(message.epoch, message.from);
    else if (this.primaryRole) return false;
    this.primaryOfEpoch = message.from;
    return true;
  }

  private onAppend(batch: AppendBatch): void {
    const prev = batch.prevSequence;
    if (prev > this.log.lastSequence || this.log.epochAt(prev) !== batch.prevEpoch) {
      this.stateReplyDue = true;
      return;
    }
    let last = prev;
    for (const entry of batch.entries) {
      if (entry.sequence !== last + 1n) break;
      last = entry.sequence;
      if (entry.sequence <= this.log.lastSequence) {
        // The history covers compacted entries too: a snapshot may hold
        // entries a failover lost (written asynchronously), so it is compared
        // like the rest, never assumed to agree.
        if (this.log.epochAt(entry.sequence) === entry.epoch) continue;
        if (this.keepsDivergentEntries()) continue;
        if (!this.truncateAfter(entry.sequence - 1n)) return;
      }
      this.log.append(entry);
    }
    if (last > this.matched) this.matched = last;
    if (batch.commitSequence > this.commitHeard) this.commitHeard = batch.commitSequence;
    if (this.countsFreshOnArrival()) this.primaryHeardAtMs = this.nowMs;
    else this.noteEcho(batch.ackEcho);
    this.noteFreshness();
    this.ackDue = true;
  }

  /** An Ack of this process echoed: the commit point heard is as fresh as its sending. */
  private noteEcho(echo: bigint): void {
    let echoed: number | undefined;
    while (this.acksSent.length > 0 && (this.acksSent[0] as { stamp: bigint }).stamp <= echo) {
      const sent = this.acksSent.shift() as { stamp: bigint; atMs: number };
      if (sent.stamp === echo) echoed = sent.atMs;
    }
    if (echoed !== undefined && echoed > this.primaryHeardAtMs) this.primaryHeardAtMs = echoed;
  }

  /** A stamp for the next Ack, remembered (a bounded number) until the primary echoes it. */
  private ackStamp(): bigint {
    // Microseconds of this clock, kept increasing: one process's stamps never repeat.
    const micros = BigInt(Math.max(1, Math.floor(this.nowMs * 1_000)));
    this.lastAckStamp = micros > this.lastAckStamp ? micros : this.lastAckStamp + 1n;
    this.acksSent.push({ stamp: this.lastAckStamp, atMs: this.nowMs });
    if (this.acksSent.length > acksRememberedMax) this.acksSent.shift();
    return this.lastAckStamp;
  }

  /**
   * Drops the log above `sequence`. Below what was already handed out to
   * apply, the applied state holds entries no primary has any more (writes
   * acknowledged asynchronously that a failover lost): everything is
   * discarded and the member starts over from the primary. False then.
   */
  private truncateAfter(sequence: bigint): boolean {
    if (sequence < this.handedOut || sequence < this.log.snapshot.lastSequence) {
      this.discardEverything();
      return false;
    }
    this.log.truncateAfter(sequence);
    if (this.durable > sequence) this.durable = sequence;
    if (this.inFlight && this.inFlight.durableTarget > sequence) this.inFlight.durableTarget = sequence;
    if (this.persistFrom > sequence + 1n) {
      const pending = this.truncateToPersist;
      this.truncateToPersist = pending === undefined || sequence < pending ? sequence : pending;
      this.persistFrom = sequence + 1n;
    }
    return true;
  }

  private noteFreshness(): void {
    if (!this.primaryRole && this.appliedValue >= this.commitHeard && this.primaryHeardAtMs > this.freshAsOfMs) {
      this.freshAsOfMs = this.primaryHeardAtMs;
    }
  }

  private discardEverything(): void {
    this.log.reset(emptySnapshotPoint);
    this.discardState = true;
    this.durable = 0n;
    this.persistFrom = 1n;
    this.truncateToPersist = undefined;
    this.handedOut = 0n;
    this.appliedValue = 0n;
    this.matched = 0n;
    // The state is gone: no freshness it had holds for what replaces it until the primary vouches again.
    this.primaryHeardAtMs = Number.NEGATIVE_INFINITY;
    this.freshAsOfMs = Number.NEGATIVE_INFINITY;
    if (this.inFlight) {
      this.inFlight.durableTarget = 0n;
      this.inFlight.committedThrough = 0n;
    }
    this.stateReplyDue = true;
  }

  /** Sequences a backup may apply: committed by the primary, agreeing with its log, and on its own disk. */
  private applyBound(): bigint {
    if (this.primaryRole) return this.primaryRole.commitSequence;
    let bound = this.commitHeard;
    if (this.matched < bound) bound = this.matched;
    if (this.durable < bound) bound = this.durable;
    return bound;
  }

  private gatherReplies(): void {
    const epoch = this.highestEpochSeen;
    for (const to of this.staleEpochReplies) this.sendLate.push({ type: 'staleEpoch', from: this.id, to, epoch });
    this.staleEpochReplies.clear();
    const to = this.primaryOfEpoch;
    if (!this.primaryRole && to !== '' && to !== this.id) {
      if (this.stateReplyDue) {
        const lastSequence = this.log.lastSequence;
        const state: BackupState = {
          type: 'backupState',
          from: this.id,
          to,
          epoch,
          lastSequence,
          epochStarts: this.log.history.list,
        };
        this.sendLate.push(state);
      }
      if (this.ackDue) {
        // Sent once this Ready's batch is durable: the whole log is then.
        const durableSequence = this.matched < this.log.lastSequence ? this.matched : this.log.lastSequence;
        this.sendLate.push({ type: 'ack', from: this.id, to, epoch, durableSequence, stamp: this.ackStamp() });
      }
    }
    this.ackDue = false;
    this.stateReplyDue = false;
  }

  private takePersistBatch(): PersistBatch | undefined {
    const hasEntries = this.persistFrom <= this.log.lastSequence;
    if (!hasEntries && this.truncateToPersist === undefined && !this.epochToPersist && !this.ledEpochToPersist) {
      return undefined;
    }
    const entries: LogEntry[] = [];
    for (let sequence = this.persistFrom; sequence <= this.log.lastSequence; sequence++) {
      entries.push(this.log.entry(sequence) as LogEntry);
    }
    const batch: PersistBatch = {
      ...(this.truncateToPersist !== undefined ? { truncateAfter: this.truncateToPersist } : {}),
      entries,
      ...(this.epochToPersist ? { highestEpoch: this.highestEpochSeen } : {}),
      ...(this.ledEpochToPersist ? { ledEpoch: this.ledEpochValue } : {}),
    };
    this.persistFrom = this.log.lastSequence + 1n;
    this.truncateToPersist = undefined;
    this.epochToPersist = false;
    this.ledEpochToPersist = false;
    return batch;
  }

  // ---- Rules the simulator's planted bugs override (testing/mutant-node.ts) ----

  /** A view of this epoch older than one already seen (a late watch event) is ignored, never taken back to. */
  protected isOlderThanViewSeen(view: GroupView): boolean {
    return (
      view.epoch === this.highestEpochSeen && this.viewSeen !== undefined && view.revision < this.viewSeen.revision
    );
  }

  /** A message from a primary of an older epoch is refused (StaleEpoch), never followed. */
  protected refusesEpoch(epoch: bigint): boolean {
    return epoch < this.highestEpochSeen;
  }

  /** An entry that conflicts with the primary's is a divergent suffix: it is dropped, never kept. */
  protected keepsDivergentEntries(): boolean {
    return false;
  }

  /** Only a planted bug (testing/mutant-node.ts) counts freshness from a batch's arrival. */
  protected countsFreshOnArrival(): boolean {
    return false;
  }
}

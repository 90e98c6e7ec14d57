// A Multi-Paxos node as a pure state machine (etcd-raft shape): ticks,
// received messages and proposals go in; takeReady() hands the runner what
// to send, persist and apply (see ready.ts for the order), and advance()
// tells the core the Ready was handled. No I/O, no clock, no Math.random:
// time is ticks and randomness is the injected generator.
//
// The roles' bookkeeping lives beside this file: the leader's votes, lease
// and follower progress in leadership.ts and follower-progress.ts, what is
// sent to a lagging member in catch-up-sender.ts, the recovery of open slots
// in recover-open-slots.ts. This file holds the acceptor's durable state,
// the message handlers and the transitions between roles.
import { ballotsEqual, compareBallots, quorum, type Ballot } from './ballot';
import { bytesEqual } from './bytes';
import { leaseTicks, validatePaxosSettings, type PaxosSettings } from './config';
import type { DurableState } from './durable-state';
import { noteAnsweredRound, noteFollowerCommit } from './follower-progress';
import { CatchUpSender, type CatchUpSource } from './catch-up-sender';
import { Leadership } from './leadership';
import type { AcceptedEntry, Entry, Message, PromiseReply, Snapshot } from './messages';
import { ReadyBuilder, type Ready } from './ready';
import { recoverOpenSlots } from './recover-open-slots';

export type Role = 'follower' | 'candidate' | 'leader';

export type ProposeResult =
  | { ok: true; slot: bigint }
  | { ok: false; reason: 'not-leader'; leaderId: string | undefined }
  | { ok: false; reason: 'window-full' };

interface Candidacy {
  ballot: Ballot;
  firstOpenSlot: bigint;
  promises: Map<string, PromiseReply>;
}

export class PaxosNode {
  readonly id: string;
  readonly members: readonly string[];
  private readonly peers: string[];
  private readonly quorumSize: number;
  protected readonly settings: PaxosSettings;
  /** Ticks a lease lasts from the sent tick of the heartbeat a majority acked (see leaseTicks). */
  protected leaseLength: number;
  private readonly random: () => number;

  // Acceptor and learner state; every change is handed out to be persisted.
  private promised: Ballot;
  /** The promise as of the last Ready advanced: a leader proposes before persisting only in a durable ballot. */
  private durablePromised: Ballot;
  private readonly accepted = new Map<bigint, AcceptedEntry>();
  private readonly chosen = new Map<bigint, Uint8Array>();
  /** Sends lagging members what they lack; keeps a tail of chosen values past compactions. */
  private readonly catchUp: CatchUpSender;
  /** Distinct slots in `accepted` and `chosen`: what compaction would free. */
  private heldSlots = 0;
  private commit: bigint;
  private snapshot: Snapshot | undefined;
  private logStart: bigint;
  /** The last slot the runner reported applied (advance()). */
  private applied = 0n;

  protected now = 0;
  private roleNow: Role = 'follower';
  private leader: string | undefined;
  private lastLeaderContact = 0;
  private electionDeadline: number;
  private maxRoundSeen: bigint;
  private candidacy: Candidacy | undefined;
  /** A pre-vote in progress: the round it asks for and who granted it. */
  private preVoting: { round: bigint; grants: Set<string> } | undefined;
  protected leadership: Leadership | undefined;

  private readonly out = new ReadyBuilder();
  /** The Ready the runner holds; the next one waits for its advance(). */
  private handedOut: Ready | undefined;
  private readonly outgoingAccepts = new Map<string, Entry[]>();

  constructor(
    id: string,
    members: readonly string[],
    settings: PaxosSettings,
    durable: DurableState,
    random: () => number,
  ) {
    if (!members.includes(id)) throw new RangeError(`member ${id} is not in the membership`);
    if (new Set(members).size !== members.length) throw new RangeError('members must be unique');
    this.id = id;
    this.members = [...members].sort();
    this.peers = this.members.filter((member) => member !== id);
    this.quorumSize = quorum(members.length);
    this.settings = validatePaxosSettings(settings);
    this.leaseLength = leaseTicks(settings);
    this.random = random;
    this.promised = durable.promised;
    this.durablePromised = durable.promised;
    this.maxRoundSeen = durable.promised.round;
    this.snapshot = durable.snapshot;
    this.logStart = (durable.snapshot?.lastSlot ?? 0n) + 1n;
    this.catchUp = new CatchUpSender(this.settings, this.logStart);
    for (const entry of durable.accepted) if (entry.slot >= this.logStart) this.accepted.set(entry.slot, entry);
    for (const entry of durable.chosen) if (entry.slot >= this.logStart) this.chosen.set(entry.slot, entry.command);
    this.countHeldSlots();
    this.commit = this.logStart - 1n;
    // lastLeaderContact starts at 0, now: a restarted node acts as if it had
    // just heard from a leader, since some leader may hold a lease this node
    // acknowledged before it crashed.
    this.electionDeadline = this.randomElectionTimeout();
    if (durable.snapshot) this.out.restore(durable.snapshot);
    this.advanceCommit();
  }

  get role(): Role {
    return this.roleNow;
  }

  get leaderId(): string | undefined {
    return this.leader;
  }

  get commitSlot(): bigint {
    return this.commit;
  }

  /** The last slot the state machine has applied, as the runner reported with advance(). */
  get appliedSlot(): bigint {
    return this.applied;
  }

  get promisedBallot(): Ballot {
    return this.promised;
  }

  get tickCount(): number {
    return this.now;
  }

  /** Slots held beyond the snapshot; the runner compacts when this grows. */
  get logLength(): number {
    return this.heldSlots;
  }

  /** Slots a compaction at the applied slot would fold into the snapshot. */
  get compactableSlots(): number {
    const slots = this.applied - this.logStart + 1n;
    return slots > 0n ? Number(slots) : 0;
  }

  /** True while this node is leader under a lease no other node can hold at the same time. */
  hasLease(): boolean {
    const lead = this.leadership;
    return lead !== undefined && lead.leaseStart !== undefined && this.now < lead.leaseStart + this.leaseLength;
  }

  /**
   * True when a linearizable read may be answered from the applied state:
   * the lease is held and the state machine has APPLIED every slot up to
   * this leadership's barrier (every value chosen before it), not merely
   * seen them committed. Values this leader commits later are answered to
   * their proposers only after they are applied, so the barrier suffices.
   */
  canReadLocally(): boolean {
    const lead = this.leadership;
    return lead !== undefined && this.hasLease() && this.applied >= lead.barrierSlot;
  }

  /**
   * True when this node leads and has applied every value chosen before
   * its leadership (its barrier): its state machine is the one changes must
   * be checked against. A new leader is briefly not there yet.
   */
  hasAppliedBarrier(): boolean {
    const lead = this.leadership;
    return lead !== undefined && this.applied >= lead.barrierSlot;
  }

  /**
   * True while this node would promise no ballot above `ballot` to another
   * node: it has promised nothing higher, follows no other leader (whose
   * next ballot it would promise), and heard a leader (or restarted) less
   * than an election timeout ago. A lease is sound only while a
   * majority does this for the leader's ballot; the simulator checks it.
   */
  protectsLeaseOf(ballot: Ballot): boolean {
    return (
      compareBallots(this.promised, ballot) <= 0 &&
      (this.leader === undefined || this.leader === ballot.nodeId) &&
      this.now - this.lastLeaderContact < this.settings.electionTimeoutMinTicks
    );
  }

  /** True when takeReady() would hand out something. */
  hasReady(): boolean {
    return this.handedOut === undefined && (!this.out.isEmpty || this.outgoingAccepts.size > 0);
  }

  takeReady(): Ready {
    if (this.handedOut) throw new Error('advance() the Ready taken before taking the next');
    this.flushAccepts();
    const ready = this.out.take();
    this.handedOut = ready;
    return ready;
  }

  /**
   * The runner handled the Ready it took: persisted, sent, applied. The
   * leader's own votes for what it persisted count now, and the applied
   * slot moves (local reads are decided on it).
   */
  advance(): void {
    const ready = this.handedOut;
    if (!ready) throw new Error('advance() without a Ready taken');
    this.handedOut = undefined;
    const restoredThrough = ready.snapshotToApply?.lastSlot ?? 0n;
    if (restoredThrough > this.applied) this.applied = restoredThrough;
    const lastApplied = ready.committed.at(-1)?.slot ?? 0n;
    if (lastApplied > this.applied) this.applied = lastApplied;
    const persisted = ready.persist;
    if (!persisted) return;
    if (persisted.promised) this.durablePromised = persisted.promised;
    const lead = this.leadership;
    if (!lead) return;
    for (const entry of persisted.accepted) {
      if (ballotsEqual(entry.ballot, lead.ballot)) this.countVote(lead, entry.slot, this.id);
    }
  }

  tick(): void {
    this.now++;
    if (this.leadership) {
      const lead = this.leadership;
      // Step down when a majority has not answered for an election timeout.
      const lastMajority = lead.leaseStart ?? -Infinity;
      if (this.now - Math.max(lastMajority, lead.since) > this.settings.electionTimeoutMaxTicks) {
        this.becomeFollower(undefined);
        this.electionDeadline = this.randomElectionTimeout();
        return;
      }
      if (this.now >= lead.nextHeartbeatTick) this.sendHeartbeats(lead);
      return;
    }
    if (this.now >= this.electionDeadline) this.startPreVote();
  }

  propose(command: Uint8Array): ProposeResult {
    const lead = this.leadership;
    if (!lead) return { ok: false, reason: 'not-leader', leaderId: this.leader };
    if (lead.nextSlot - this.commit - 1n >= BigInt(this.settings.acceptWindowSlots)) {
      return { ok: false, reason: 'window-full' };
    }
    const slot = lead.nextSlot++;
    this.proposeAt(lead, slot, command);
    return { ok: true, slot };
  }

  /** Replaces the log up to throughSlot (applied by the runner) with a snapshot of the state there. */
  compact(throughSlot: bigint, data: Uint8Array): void {
    if (throughSlot > this.applied) {
      throw new RangeError(`cannot compact to ${throughSlot} beyond the applied slot ${this.applied}`);
    }
    if (throughSlot < this.logStart) return;
    this.catchUp.keepTail(this.chosen, throughSlot);
    this.installLocally({ lastSlot: throughSlot, data });
  }

  receive(message: Message): void {
    if (message.to !== this.id || message.from === this.id || !this.members.includes(message.from)) return;
    switch (message.type) {
      case 'prepare':
        return this.onPrepare(message.from, message.ballot, message.firstOpenSlot);
      case 'promise':
        return this.onPromise(message);
      case 'accept':
        return this.onAccept(message.from, message.ballot, message.entries, message.commitSlot);
      case 'accepted':
        return this.onAccepted(message.from, message.ballot, message.slots);
      case 'reject':
        return this.onReject(message.promised);
      case 'heartbeat':
        return this.onHeartbeat(message.from, message.ballot, message.commitSlot, message.sentTick);
      case 'heartbeatReply':
        return this.onHeartbeatReply(message.from, message.ballot, message.sentTick, message.commitSlot);
      case 'catchUp':
        return this.onCatchUp(message.from, message.entries);
      case 'catchUpRequest':
        return this.onCatchUpRequest(message.from, message.commitSlot);
      case 'preVote':
        return this.out.send({
          type: 'preVoteReply',
          from: this.id,
          to: message.from,
          round: message.round,
          granted: this.wouldPromise(message.from),
        });
      case 'preVoteReply':
        return this.onPreVoteReply(message.from, message.round, message.granted);
      case 'installSnapshot':
        return this.onInstallSnapshot(message.from, message.snapshot);
    }
  }

  // --- elections -----------------------------------------------------------

  private randomElectionTimeout(): number {
    const { electionTimeoutMinTicks: min, electionTimeoutMaxTicks: max } = this.settings;
    return this.now + min + Math.floor(this.random() * (max - min + 1));
  }

  private nextRound(): bigint {
    return (this.maxRoundSeen > this.promised.round ? this.maxRoundSeen : this.promised.round) + 1n;
  }

  private leaderSilent(): boolean {
    return this.now - this.lastLeaderContact >= this.settings.electionTimeoutMinTicks;
  }

  /** Lease protection: no promise to another candidate while a leader this node heard from may hold its lease. */
  private wouldPromise(candidate: string): boolean {
    return candidate === this.leader || this.leaderSilent();
  }

  private startPreVote(): void {
    // Pre-votes are asked as a follower: a stalled candidacy ends here.
    if (this.roleNow !== 'follower') this.becomeFollower(undefined);
    const round = this.nextRound();
    this.preVoting = { round, grants: new Set([this.id]) };
    this.electionDeadline = this.randomElectionTimeout();
    for (const peer of this.peers) this.out.send({ type: 'preVote', from: this.id, to: peer, round });
    this.maybeStartCampaign();
  }

  private onPreVoteReply(from: string, round: bigint, granted: boolean): void {
    const preVote = this.preVoting;
    if (!granted || !preVote || preVote.round !== round) return;
    // A late grant counts only for a follower whose leader is still silent:
    // one that has since heard a leader (or promised a candidate) keeps it.
    if (this.roleNow !== 'follower' || !this.leaderSilent()) {
      this.preVoting = undefined;
      return;
    }
    preVote.grants.add(from);
    this.maybeStartCampaign();
  }

  private maybeStartCampaign(): void {
    if (this.preVoting && this.preVoting.grants.size >= this.quorumSize) this.campaign();
  }

  private campaign(): void {
    this.preVoting = undefined;
    this.leadership = undefined;
    const round = this.nextRound();
    const ballot: Ballot = { round, nodeId: this.id };
    this.maxRoundSeen = round;
    this.setPromised(ballot);
    this.roleNow = 'candidate';
    this.leader = undefined;
    this.electionDeadline = this.randomElectionTimeout();
    const firstOpenSlot = this.commit + 1n;
    this.candidacy = { ballot, firstOpenSlot, promises: new Map() };
    this.candidacy.promises.set(this.id, this.promiseFor(ballot, firstOpenSlot, this.id));
    for (const peer of this.peers) this.out.send({ type: 'prepare', from: this.id, to: peer, ballot, firstOpenSlot });
    this.maybeWinElection();
  }

  private promiseFor(ballot: Ballot, firstOpenSlot: bigint, to: string): PromiseReply {
    const accepted: AcceptedEntry[] = [];
    for (const entry of this.accepted.values()) if (entry.slot >= firstOpenSlot) accepted.push(entry);
    accepted.sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : 0));
    return { type: 'promise', from: this.id, to, ballot, accepted, commitSlot: this.commit, logStart: this.logStart };
  }

  private onPrepare(from: string, ballot: Ballot, firstOpenSlot: bigint): void {
    this.noteRound(ballot.round);
    const order = compareBallots(ballot, this.promised);
    if (order < 0) {
      this.out.send({ type: 'reject', from: this.id, to: from, promised: this.promised });
      return;
    }
    if (order > 0) {
      // Lease protection (see leaseTicks); pre-vote makes this rare, it does not replace it.
      if (!this.wouldPromise(from)) return;
      this.setPromised(ballot);
      this.becomeFollower(undefined);
      this.electionDeadline = this.randomElectionTimeout();
    }
    this.out.send(this.promiseFor(ballot, firstOpenSlot, from));
  }

  private onPromise(promise: PromiseReply): void {
    const candidacy = this.candidacy;
    if (this.roleNow !== 'candidate' || !candidacy || !ballotsEqual(promise.ballot, candidacy.ballot)) return;
    if (promise.logStart > candidacy.firstOpenSlot) {
      // The promiser compacted slots this node has not committed: their
      // accepted values are gone from its answer, so recovery here would be
      // unsafe. Catch up first and campaign again later.
      this.becomeFollower(undefined);
      this.out.send({ type: 'catchUpRequest', from: this.id, to: promise.from, commitSlot: this.commit });
      return;
    }
    candidacy.promises.set(promise.from, promise);
    this.maybeWinElection();
  }

  private maybeWinElection(): void {
    const candidacy = this.candidacy;
    if (!candidacy || candidacy.promises.size < this.quorumSize) return;
    const firstSlot = candidacy.firstOpenSlot > this.commit ? candidacy.firstOpenSlot : this.commit + 1n;
    const open = recoverOpenSlots(candidacy.promises.values(), firstSlot, this.chosen);
    const lead = new Leadership(candidacy.ballot, open.lastSlot + 1n, this.now);
    this.candidacy = undefined;
    this.preVoting = undefined;
    this.roleNow = 'leader';
    this.leader = this.id;
    this.leadership = lead;
    // Heartbeats first: they resend every open slot, and none is open yet.
    this.sendHeartbeats(lead);
    for (const [slot, command] of open.values) this.proposeAt(lead, slot, command);
    this.proposeAt(lead, lead.barrierSlot, new Uint8Array(0));
  }

  private becomeFollower(leader: string | undefined): void {
    this.roleNow = 'follower';
    this.leader = leader;
    this.candidacy = undefined;
    this.leadership = undefined;
    this.preVoting = undefined;
  }

  private onReject(promised: Ballot): void {
    this.noteRound(promised.round);
    const mine = this.leadership?.ballot ?? this.candidacy?.ballot;
    if (mine && compareBallots(promised, mine) > 0) {
      this.becomeFollower(undefined);
      this.electionDeadline = this.randomElectionTimeout();
    }
  }

  private noteRound(round: bigint): void {
    if (round > this.maxRoundSeen) this.maxRoundSeen = round;
  }

  /**
   * Accepts that `ballot` leads, for a message from its leader: promises it
   * if higher, follows it, and records the contact that protects its lease.
   * Returns false (after rejecting) when the ballot is below the promise.
   */
  private followLeader(from: string, ballot: Ballot): boolean {
    this.noteRound(ballot.round);
    const order = compareBallots(ballot, this.promised);
    if (order < 0) {
      this.out.send({ type: 'reject', from: this.id, to: from, promised: this.promised });
      return false;
    }
    if (order > 0) this.setPromised(ballot);
    if (this.roleNow !== 'follower' || this.leader !== ballot.nodeId) this.becomeFollower(ballot.nodeId);
    this.preVoting = undefined;
    this.lastLeaderContact = this.now;
    this.electionDeadline = this.randomElectionTimeout();
    return true;
  }

  // --- phase 2 -------------------------------------------------------------

  private proposeAt(lead: Leadership, slot: bigint, command: Uint8Array): void {
    const entry: AcceptedEntry = { slot, ballot: lead.ballot, command };
    this.accept(entry);
    // The leader's own vote counts once this entry is durable (advance()).
    lead.votes.set(slot, new Set());
    for (const peer of this.peers) this.queueAccept(peer, entry);
  }

  private queueAccept(peer: string, entry: Entry): void {
    let queue = this.outgoingAccepts.get(peer);
    if (!queue) {
      queue = [];
      this.outgoingAccepts.set(peer, queue);
    }
    queue.push({ slot: entry.slot, command: entry.command });
  }

  private flushAccepts(): void {
    const lead = this.leadership;
    if (lead) {
      // Before its promise is durable a leader must not propose ahead of its
      // write: restarted without it, it could reuse the ballot for other values.
      const early = ballotsEqual(this.durablePromised, lead.ballot);
      for (const [peer, entries] of this.outgoingAccepts) {
        for (const batch of this.batches(entries)) {
          const accept: Message = {
            type: 'accept',
            from: this.id,
            to: peer,
            ballot: lead.ballot,
            entries: batch,
            commitSlot: this.commit,
          };
          if (early) this.out.sendBeforePersist(accept);
          else this.out.send(accept);
        }
      }
    }
    this.outgoingAccepts.clear();
  }

  /** Splits entries into messages of at most batchEntriesMax entries and about batchBytesMax bytes (one entry at least). */
  private *batches(entries: readonly Entry[]): Generator<Entry[]> {
    let batch: Entry[] = [];
    let bytes = 0;
    for (const entry of entries) {
      if (
        batch.length > 0 &&
        (batch.length >= this.settings.batchEntriesMax ||
          bytes + entry.command.byteLength > this.settings.batchBytesMax)
      ) {
        yield batch;
        batch = [];
        bytes = 0;
      }
      batch.push(entry);
      bytes += entry.command.byteLength;
    }
    if (batch.length > 0) yield batch;
  }

  private accept(entry: AcceptedEntry): void {
    if (!this.accepted.has(entry.slot) && !this.chosen.has(entry.slot)) this.heldSlots++;
    this.accepted.set(entry.slot, entry);
    this.out.persisting().accepted.push(entry);
  }

  private onAccept(from: string, ballot: Ballot, entries: readonly Entry[], leaderCommit: bigint): void {
    if (!this.followLeader(from, ballot)) return;
    const slots: bigint[] = [];
    for (const entry of entries) {
      // Slots before the log start are chosen and in the snapshot already.
      if (entry.slot >= this.logStart) this.accept({ slot: entry.slot, ballot, command: entry.command });
      slots.push(entry.slot);
    }
    this.learnCommit(leaderCommit, ballot);
    this.out.send({ type: 'accepted', from: this.id, to: from, ballot, slots });
  }

  private onAccepted(from: string, ballot: Ballot, slots: readonly bigint[]): void {
    const lead = this.leadership;
    if (!lead || !ballotsEqual(ballot, lead.ballot)) return;
    for (const slot of slots) this.countVote(lead, slot, from);
  }

  private countVote(lead: Leadership, slot: bigint, voter: string): void {
    if (!lead.vote(slot, voter, this.quorumSize)) return;
    const entry = this.accepted.get(slot);
    if (!entry) return;
    this.learnChosen(slot, entry.command);
    this.advanceCommit();
  }

  /** Slots up to leaderCommit whose value this node accepted in the leader's ballot are chosen. */
  private learnCommit(leaderCommit: bigint, ballot: Ballot): void {
    for (let slot = this.commit + 1n; slot <= leaderCommit; slot++) {
      if (this.chosen.has(slot)) continue;
      const entry = this.accepted.get(slot);
      if (!entry || !ballotsEqual(entry.ballot, ballot)) break;
      this.learnChosen(slot, entry.command);
    }
    this.advanceCommit();
  }

  private learnChosen(slot: bigint, command: Uint8Array): void {
    if (slot < this.logStart || slot <= this.commit || this.chosen.has(slot)) return;
    if (!this.accepted.has(slot)) this.heldSlots++;
    this.chosen.set(slot, command);
    this.out.persisting().chosen.push({ slot, command });
  }

  /** Moves the commit point over every contiguous chosen slot and emits them. */
  private advanceCommit(): void {
    const before = this.commit;
    for (let next = this.commit + 1n; this.chosen.has(next); next++) {
      this.out.commit({ slot: next, command: this.chosen.get(next) as Uint8Array });
      this.commit = next;
    }
    if (this.commit !== before) this.out.persisting().commitSlot = this.commit;
  }

  // --- heartbeats, lease, catch-up ------------------------------------------

  private sendHeartbeats(lead: Leadership): void {
    lead.nextHeartbeatTick = this.now + this.settings.heartbeatIntervalTicks;
    lead.startHeartbeatRound(this.now, this.commit, this.id);
    // The leader contacts itself: it too refuses other candidates during its lease.
    this.lastLeaderContact = this.now;
    const sentTick = BigInt(this.now);
    for (const peer of this.peers) {
      this.out.send({
        type: 'heartbeat',
        from: this.id,
        to: peer,
        ballot: lead.ballot,
        commitSlot: this.commit,
        sentTick,
      });
    }
    // Resend what peers have not acknowledged: messages may have been lost.
    for (const [slot, voters] of lead.votes) {
      const entry = this.accepted.get(slot);
      if (!entry) continue;
      for (const peer of this.peers) if (!voters.has(peer)) this.queueAccept(peer, entry);
    }
    if (this.quorumSize === 1) lead.leaseStart = this.leaseStartFor(this.now);
  }

  /** Where a lease starts once a majority acked the heartbeat sent at `sentTick`: at the sending. */
  protected leaseStartFor(sentTick: number): number {
    return sentTick;
  }

  private onHeartbeat(from: string, ballot: Ballot, leaderCommit: bigint, sentTick: bigint): void {
    if (!this.followLeader(from, ballot)) return;
    this.learnCommit(leaderCommit, ballot);
    this.out.send({ type: 'heartbeatReply', from: this.id, to: from, ballot, sentTick, commitSlot: this.commit });
  }

  private onHeartbeatReply(from: string, ballot: Ballot, sentTick: bigint, peerCommit: bigint): void {
    const lead = this.leadership;
    if (!lead || !ballotsEqual(ballot, lead.ballot)) return;
    const round = Number(sentTick);
    const advertised = lead.ackHeartbeat(round, from, this.quorumSize, this.leaseStartFor(round));
    const progress = lead.progressOf(from, this.now);
    noteAnsweredRound(progress, round, peerCommit);
    noteFollowerCommit(progress, peerCommit, this.now);
    // Below what that heartbeat advertised, the follower lacks values it
    // cannot learn from Accepts: catch it up to there. At or above it,
    // Accepts keep it current.
    if (advertised !== undefined && peerCommit < advertised) {
      if (progress.catchUpTarget === undefined || advertised > progress.catchUpTarget) {
        progress.catchUpTarget = advertised;
      }
    }
    this.catchUp.replicateTo(this.catchUpView(), from, progress);
  }

  private onCatchUpRequest(from: string, theirCommit: bigint): void {
    const lead = this.leadership;
    if (!lead) {
      this.catchUp.sendBatch(this.catchUpView(), from, theirCommit);
      return;
    }
    // Only a follower being caught up asks a leader; anything else is a
    // stale request, and heartbeats find a follower that lags.
    const progress = lead.progressOf(from, this.now);
    if (progress.batchesInFlight > 0) progress.batchesInFlight--;
    noteFollowerCommit(progress, theirCommit, this.now);
    this.catchUp.replicateTo(this.catchUpView(), from, progress);
  }

  /** What the catch-up sender reads of this node, as of now. */
  private catchUpView(): CatchUpSource {
    return {
      id: this.id,
      now: this.now,
      commit: this.commit,
      logStart: this.logStart,
      snapshot: this.snapshot,
      ballot: this.leadership?.ballot ?? this.promised,
      chosen: this.chosen,
      send: (message) => this.out.send(message),
    };
  }

  /**
   * Values chosen elsewhere mean another ballot has been committing: this
   * node's own proposals at those slots may have lost. A leader must not
   * advertise a commit point it did not reach through its own ballot's votes
   * (followers take it as proof that what they accepted in this ballot was
   * chosen), so it steps down before it learns them.
   */
  protected stepDownToLearn(): void {
    if (!this.leadership) return;
    this.becomeFollower(undefined);
    this.electionDeadline = this.randomElectionTimeout();
  }

  private onCatchUp(from: string, entries: readonly Entry[]): void {
    if (entries.some((entry) => entry.slot > this.commit && !this.proposedInThisBallot(entry))) this.stepDownToLearn();
    for (const entry of entries) this.learnChosen(entry.slot, entry.command);
    this.advanceCommit();
    // Asking for more is what moves the sender's window (sent once this is durable).
    this.out.send({ type: 'catchUpRequest', from: this.id, to: from, commitSlot: this.commit });
  }

  /** True when this node leads and proposed exactly this value at this slot: learning it changes nothing. */
  private proposedInThisBallot(entry: Entry): boolean {
    const lead = this.leadership;
    const mine = this.accepted.get(entry.slot);
    if (!lead || !mine || !ballotsEqual(mine.ballot, lead.ballot)) return false;
    return bytesEqual(mine.command, entry.command);
  }

  private onInstallSnapshot(from: string, snapshot: Snapshot): void {
    if (snapshot.lastSlot > this.commit) {
      this.stepDownToLearn();
      this.installLocally(snapshot);
      this.catchUp.dropTail(this.logStart);
      this.out.restore(snapshot);
      this.commit = snapshot.lastSlot;
      this.out.persisting().commitSlot = this.commit;
      this.advanceCommit();
    }
    this.out.send({ type: 'catchUpRequest', from: this.id, to: from, commitSlot: this.commit });
  }

  private installLocally(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.logStart = snapshot.lastSlot + 1n;
    for (const slot of [...this.accepted.keys()]) if (slot <= snapshot.lastSlot) this.accepted.delete(slot);
    for (const slot of [...this.chosen.keys()]) if (slot <= snapshot.lastSlot) this.chosen.delete(slot);
    this.countHeldSlots();
    const persist = this.out.persisting();
    persist.snapshot = snapshot;
    persist.accepted = persist.accepted.filter((entry) => entry.slot > snapshot.lastSlot);
    persist.chosen = persist.chosen.filter((entry) => entry.slot > snapshot.lastSlot);
  }

  private countHeldSlots(): void {
    let held = this.chosen.size;
    for (const slot of this.accepted.keys()) if (!this.chosen.has(slot)) held++;
    this.heldSlots = held;
  }

  private setPromised(ballot: Ballot): void {
    this.promised = ballot;
    this.out.persisting().promised = ballot;
  }
}

// A Multi-Paxos node as a pure state machine (etcd-raft shape): ticks,
// received messages and proposals go in; takeReady() hands the runner what
// to persist, what to send and what was committed. The runner must make
// `persist` durable before it sends `messages`, then apply the snapshot and
// the committed entries. No I/O, no clock, no Math.random: time is ticks and
// randomness is the injected generator.
import { ballotsEqual, compareBallots, quorum, zeroBallot, type Ballot } from './ballot';
import { leaseTicks, validatePaxosSettings, type PaxosSettings } from './config';
import type { AcceptedEntry, Entry, Message, PromiseReply, Snapshot } from './messages';

/** What survives a crash: acceptor state, learned values, commit point, snapshot. */
export interface DurableState {
  promised: Ballot;
  accepted: AcceptedEntry[];
  chosen: Entry[];
  commitSlot: bigint;
  snapshot: Snapshot | undefined;
}

export const emptyDurableState: DurableState = {
  promised: zeroBallot,
  accepted: [],
  chosen: [],
  commitSlot: 0n,
  snapshot: undefined,
};

/** Changes to make durable before the messages of the same Ready are sent. */
export interface PersistBatch {
  promised?: Ballot;
  accepted: AcceptedEntry[];
  chosen: Entry[];
  commitSlot?: bigint;
  /** Replaces every slot up to snapshot.lastSlot. */
  snapshot?: Snapshot;
}

export interface Ready {
  persist: PersistBatch | undefined;
  messages: Message[];
  /** Restore the state machine from this before applying `committed`. */
  snapshotToApply: Snapshot | undefined;
  /** Newly committed entries, contiguous and in slot order. */
  committed: Entry[];
}

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

interface Leadership {
  ballot: Ballot;
  /** The no-op after the recovered slots; reads are local only once it is committed. */
  barrierSlot: bigint;
  nextSlot: bigint;
  /** Votes for each uncommitted slot of this ballot. */
  votes: Map<bigint, Set<string>>;
  /** Heartbeat rounds by sent tick: who acknowledged. */
  heartbeatAcks: Map<number, Set<string>>;
  /** Sent tick of the newest heartbeat a majority acknowledged. */
  leaseStart: number | undefined;
  nextHeartbeat: number;
}

/** Heartbeat rounds remembered; older acks cannot extend the lease anyway. */
const heartbeatRoundsMax = 64;

export class PaxosNode {
  readonly id: string;
  readonly members: readonly string[];
  private readonly peers: string[];
  private readonly quorumSize: number;
  private readonly settings: PaxosSettings;
  private readonly leaseLength: number;
  private readonly random: () => number;

  private promised: Ballot;
  private readonly accepted = new Map<bigint, AcceptedEntry>();
  private readonly chosen = new Map<bigint, Uint8Array>();
  private commit: bigint;
  private snapshot: Snapshot | undefined;
  private logStart: bigint;

  private now = 0;
  private roleNow: Role = 'follower';
  private leader: string | undefined;
  private lastLeaderContact = 0;
  /** When this node last became leader: the step-down clock before any majority answered. */
  private becameLeaderAt = 0;
  private electionDeadline: number;
  private maxRoundSeen: bigint;
  private candidacy: Candidacy | undefined;
  /** A pre-vote in progress: the round it asks for and who granted it. */
  private preVoting: { round: bigint; grants: Set<string> } | undefined;
  private leadership: Leadership | undefined;

  private out: Ready = PaxosNode.emptyReady();
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
    this.maxRoundSeen = durable.promised.round;
    this.snapshot = durable.snapshot;
    this.logStart = (durable.snapshot?.lastSlot ?? 0n) + 1n;
    for (const entry of durable.accepted) if (entry.slot >= this.logStart) this.accepted.set(entry.slot, entry);
    for (const entry of durable.chosen) if (entry.slot >= this.logStart) this.chosen.set(entry.slot, entry.command);
    this.commit = this.logStart - 1n;
    // lastLeaderContact starts at 0, now: a restarted node acts as if it had
    // just heard from a leader, since some leader may hold a lease this node
    // acknowledged before it crashed.
    this.electionDeadline = this.randomElectionTimeout();
    this.out.snapshotToApply = durable.snapshot;
    this.advanceCommit();
  }

  private static emptyReady(): Ready {
    return { persist: undefined, messages: [], snapshotToApply: undefined, committed: [] };
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

  get promisedBallot(): Ballot {
    return this.promised;
  }

  get tickCount(): number {
    return this.now;
  }

  /** Entries held beyond the snapshot; the runner compacts when this grows. */
  get logLength(): number {
    return this.chosen.size + this.accepted.size;
  }

  /** True while this node is leader under a lease no other node can hold at the same time. */
  hasLease(): boolean {
    const lead = this.leadership;
    return lead !== undefined && lead.leaseStart !== undefined && this.now < lead.leaseStart + this.leaseLength;
  }

  /** Leader with a lease whose state machine has every value chosen before its ballot. */
  canReadLocally(): boolean {
    return this.hasLease() && this.commit >= (this.leadership?.barrierSlot ?? 0n);
  }

  takeReady(): Ready {
    this.flushAccepts();
    const ready = this.out;
    this.out = PaxosNode.emptyReady();
    return ready;
  }

  tick(): void {
    this.now++;
    if (this.leadership) {
      const lead = this.leadership;
      // Step down when a majority has not answered for an election timeout.
      const lastMajority = lead.leaseStart ?? -Infinity;
      if (this.now - Math.max(lastMajority, this.becameLeaderAt) > this.settings.electionTimeoutMaxTicks) {
        this.becomeFollower(undefined);
        this.electionDeadline = this.randomElectionTimeout();
        return;
      }
      if (this.now >= lead.nextHeartbeat) this.sendHeartbeats(lead);
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

  /** Replaces the log up to throughSlot (committed, applied by the runner) with a snapshot. */
  compact(throughSlot: bigint, data: Uint8Array): void {
    if (throughSlot > this.commit)
      throw new RangeError(`cannot compact to ${throughSlot} beyond commit ${this.commit}`);
    if (throughSlot < this.logStart) return;
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
        return this.onCatchUp(message.entries);
      case 'catchUpRequest':
        return this.sendCatchUp(message.from, message.commitSlot);
      case 'preVote':
        return this.send({
          type: 'preVoteReply',
          from: this.id,
          to: message.from,
          round: message.round,
          granted: this.wouldPromise(message.from),
        });
      case 'preVoteReply':
        return this.onPreVoteReply(message.from, message.round, message.granted);
      case 'installSnapshot':
        return this.onInstallSnapshot(message.snapshot);
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

  /** Lease protection: no promise to another candidate while a leader this node heard from may hold its lease. */
  private wouldPromise(candidate: string): boolean {
    return candidate === this.leader || this.now - this.lastLeaderContact >= this.settings.electionTimeoutMinTicks;
  }

  private startPreVote(): void {
    const round = this.nextRound();
    this.preVoting = { round, grants: new Set([this.id]) };
    this.electionDeadline = this.randomElectionTimeout();
    for (const peer of this.peers) this.send({ type: 'preVote', from: this.id, to: peer, round });
    this.maybeStartCampaign();
  }

  private onPreVoteReply(from: string, round: bigint, granted: boolean): void {
    if (!granted || !this.preVoting || this.preVoting.round !== round) return;
    this.preVoting.grants.add(from);
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
    for (const peer of this.peers) this.send({ type: 'prepare', from: this.id, to: peer, ballot, firstOpenSlot });
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
      this.send({ type: 'reject', from: this.id, to: from, promised: this.promised });
      return;
    }
    if (order > 0) {
      // Lease protection (see leaseTicks); pre-vote makes this rare, it does not replace it.
      if (!this.wouldPromise(from)) return;
      this.setPromised(ballot);
      this.becomeFollower(undefined);
      this.electionDeadline = this.randomElectionTimeout();
    }
    this.send(this.promiseFor(ballot, firstOpenSlot, from));
  }

  private onPromise(promise: PromiseReply): void {
    const candidacy = this.candidacy;
    if (this.roleNow !== 'candidate' || !candidacy || !ballotsEqual(promise.ballot, candidacy.ballot)) return;
    if (promise.logStart > candidacy.firstOpenSlot) {
      // The promiser compacted slots this node has not committed: their
      // accepted values are gone from its answer, so recovery here would be
      // unsafe. Catch up first and campaign again later.
      this.becomeFollower(undefined);
      this.send({ type: 'catchUpRequest', from: this.id, to: promise.from, commitSlot: this.commit });
      return;
    }
    candidacy.promises.set(promise.from, promise);
    this.maybeWinElection();
  }

  private maybeWinElection(): void {
    const candidacy = this.candidacy;
    if (!candidacy || candidacy.promises.size < this.quorumSize) return;
    this.candidacy = undefined;
    this.roleNow = 'leader';
    this.leader = this.id;
    const firstSlot = candidacy.firstOpenSlot > this.commit ? candidacy.firstOpenSlot : this.commit + 1n;
    // For every open slot, the value accepted in the highest ballot among the
    // promises (Paxos phase 1), a value already known chosen, or a no-op.
    const recovered = new Map<bigint, AcceptedEntry>();
    for (const promise of candidacy.promises.values()) {
      for (const entry of promise.accepted) {
        if (entry.slot < firstSlot) continue;
        const known = recovered.get(entry.slot);
        if (!known || compareBallots(entry.ballot, known.ballot) > 0) recovered.set(entry.slot, entry);
      }
    }
    let lastSlot = firstSlot - 1n;
    for (const slot of recovered.keys()) if (slot > lastSlot) lastSlot = slot;
    for (const slot of this.chosen.keys()) if (slot > lastSlot) lastSlot = slot;
    const lead: Leadership = {
      ballot: candidacy.ballot,
      barrierSlot: lastSlot + 1n,
      nextSlot: lastSlot + 2n,
      votes: new Map(),
      heartbeatAcks: new Map(),
      leaseStart: undefined,
      nextHeartbeat: this.now,
    };
    this.leadership = lead;
    this.becameLeaderAt = this.now;
    for (let slot = firstSlot; slot <= lastSlot; slot++) {
      const command = this.chosen.get(slot) ?? recovered.get(slot)?.command ?? new Uint8Array(0);
      this.proposeAt(lead, slot, command);
    }
    this.proposeAt(lead, lead.barrierSlot, new Uint8Array(0));
    this.sendHeartbeats(lead);
  }

  private becomeFollower(leader: string | undefined): void {
    this.roleNow = 'follower';
    this.leader = leader;
    this.candidacy = undefined;
    this.leadership = undefined;
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
      this.send({ type: 'reject', from: this.id, to: from, promised: this.promised });
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
    lead.votes.set(slot, new Set([this.id]));
    for (const peer of this.peers) this.queueAccept(peer, entry);
    this.countVotes(lead, slot);
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
      for (const [peer, entries] of this.outgoingAccepts) {
        for (let start = 0; start < entries.length; start += this.settings.batchEntriesMax) {
          this.send({
            type: 'accept',
            from: this.id,
            to: peer,
            ballot: lead.ballot,
            entries: entries.slice(start, start + this.settings.batchEntriesMax),
            commitSlot: this.commit,
          });
        }
      }
    }
    this.outgoingAccepts.clear();
  }

  private accept(entry: AcceptedEntry): void {
    this.accepted.set(entry.slot, entry);
    this.persisting().accepted.push(entry);
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
    this.send({ type: 'accepted', from: this.id, to: from, ballot, slots });
  }

  private onAccepted(from: string, ballot: Ballot, slots: readonly bigint[]): void {
    const lead = this.leadership;
    if (!lead || !ballotsEqual(ballot, lead.ballot)) return;
    for (const slot of slots) {
      const voters = lead.votes.get(slot);
      if (!voters) continue;
      voters.add(from);
      this.countVotes(lead, slot);
    }
  }

  private countVotes(lead: Leadership, slot: bigint): void {
    const voters = lead.votes.get(slot);
    const entry = this.accepted.get(slot);
    if (!voters || voters.size < this.quorumSize || !entry) return;
    lead.votes.delete(slot);
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
    this.chosen.set(slot, command);
    this.persisting().chosen.push({ slot, command });
  }

  /** Moves the commit point over every contiguous chosen slot and emits them. */
  private advanceCommit(): void {
    const before = this.commit;
    for (let next = this.commit + 1n; this.chosen.has(next); next++) {
      this.out.committed.push({ slot: next, command: this.chosen.get(next) as Uint8Array });
      this.commit = next;
    }
    if (this.commit !== before) this.persisting().commitSlot = this.commit;
  }

  // --- heartbeats, lease, catch-up ------------------------------------------

  private sendHeartbeats(lead: Leadership): void {
    lead.nextHeartbeat = this.now + this.settings.heartbeatIntervalTicks;
    lead.heartbeatAcks.set(this.now, new Set([this.id]));
    if (lead.heartbeatAcks.size > heartbeatRoundsMax) {
      const oldest = lead.heartbeatAcks.keys().next().value as number;
      lead.heartbeatAcks.delete(oldest);
    }
    // The leader contacts itself: it too refuses other candidates during its lease.
    this.lastLeaderContact = this.now;
    const sentTick = BigInt(this.now);
    for (const peer of this.peers) {
      this.send({ type: 'heartbeat', from: this.id, to: peer, ballot: lead.ballot, commitSlot: this.commit, sentTick });
    }
    // Resend what peers have not acknowledged: messages may have been lost.
    for (const [slot, voters] of lead.votes) {
      const entry = this.accepted.get(slot);
      if (!entry) continue;
      for (const peer of this.peers) if (!voters.has(peer)) this.queueAccept(peer, entry);
    }
    if (this.quorumSize === 1) lead.leaseStart = this.now;
  }

  private onHeartbeat(from: string, ballot: Ballot, leaderCommit: bigint, sentTick: bigint): void {
    if (!this.followLeader(from, ballot)) return;
    this.learnCommit(leaderCommit, ballot);
    this.send({ type: 'heartbeatReply', from: this.id, to: from, ballot, sentTick, commitSlot: this.commit });
  }

  private onHeartbeatReply(from: string, ballot: Ballot, sentTick: bigint, peerCommit: bigint): void {
    const lead = this.leadership;
    if (!lead || !ballotsEqual(ballot, lead.ballot)) return;
    const round = Number(sentTick);
    const acks = lead.heartbeatAcks.get(round);
    if (acks) {
      acks.add(from);
      if (acks.size >= this.quorumSize && (lead.leaseStart === undefined || round > lead.leaseStart)) {
        lead.leaseStart = round;
      }
    }
    if (peerCommit < this.commit) this.sendCatchUp(from, peerCommit);
  }

  private sendCatchUp(to: string, theirCommit: bigint): void {
    if (theirCommit >= this.commit) return;
    const ballot = this.leadership?.ballot ?? this.promised;
    if (theirCommit + 1n < this.logStart) {
      if (this.snapshot) this.send({ type: 'installSnapshot', from: this.id, to, ballot, snapshot: this.snapshot });
      return;
    }
    const entries: Entry[] = [];
    for (let slot = theirCommit + 1n; slot <= this.commit && entries.length < this.settings.batchEntriesMax; slot++) {
      entries.push({ slot, command: this.chosen.get(slot) as Uint8Array });
    }
    this.send({ type: 'catchUp', from: this.id, to, ballot, entries });
  }

  /**
   * Values chosen elsewhere mean another ballot has been committing: this
   * node's own proposals at those slots may have lost. A leader must not
   * advertise a commit point it did not reach through its own ballot's votes
   * (followers take it as proof that what they accepted in this ballot was
   * chosen), so it steps down before it learns them.
   */
  private stepDownToLearn(): void {
    if (!this.leadership) return;
    this.becomeFollower(undefined);
    this.electionDeadline = this.randomElectionTimeout();
  }

  private onCatchUp(entries: readonly Entry[]): void {
    if (entries.some((entry) => entry.slot > this.commit)) this.stepDownToLearn();
    for (const entry of entries) this.learnChosen(entry.slot, entry.command);
    this.advanceCommit();
  }

  private onInstallSnapshot(snapshot: Snapshot): void {
    if (snapshot.lastSlot <= this.commit) return;
    this.stepDownToLearn();
    this.installLocally(snapshot);
    this.out.snapshotToApply = snapshot;
    // Entries committed before the snapshot are superseded by it.
    this.out.committed = this.out.committed.filter((entry) => entry.slot > snapshot.lastSlot);
    this.commit = snapshot.lastSlot;
    this.persisting().commitSlot = this.commit;
    this.advanceCommit();
  }

  private installLocally(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.logStart = snapshot.lastSlot + 1n;
    for (const slot of [...this.accepted.keys()]) if (slot <= snapshot.lastSlot) this.accepted.delete(slot);
    for (const slot of [...this.chosen.keys()]) if (slot <= snapshot.lastSlot) this.chosen.delete(slot);
    const persist = this.persisting();
    persist.snapshot = snapshot;
    persist.accepted = persist.accepted.filter((entry) => entry.slot > snapshot.lastSlot);
    persist.chosen = persist.chosen.filter((entry) => entry.slot > snapshot.lastSlot);
  }

  // --- output ----------------------------------------------------------------

  private setPromised(ballot: Ballot): void {
    this.promised = ballot;
    this.persisting().promised = ballot;
  }

  private persisting(): PersistBatch {
    this.out.persist ??= { accepted: [], chosen: [] };
    return this.out.persist;
  }

  private send(message: Message): void {
    this.out.messages.push(message);
  }
}

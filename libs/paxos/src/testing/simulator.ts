// A seeded, deterministic simulator (FoundationDB / TigerBeetle VOPR style):
// N Paxos nodes with drifting clocks on a network that loses, duplicates,
// delays and reorders messages, partitions (also one way) and heals, while
// nodes crash (volatile state and any write in flight lost), restart and
// pause. Each node runs behind a model of the real runner: one Ready at a
// time, proposals sent and chosen values applied before the write, the write
// taking disk time, the dependent messages after it, then advance().
//
// Invariants, checked after every event:
// - one value per slot: no two values chosen at a slot, no two proposed in a ballot;
// - committed prefixes agree, and snapshots carry a history some node applied;
// - lease protection: while a node holds a lease, a majority would promise
//   no higher ballot to anyone else (down nodes count by their durable promise);
// - linearizable local reads: a node that may read locally has applied every
//   command acknowledged to a client before now.
// Liveness, at the end: with a minority cut off and the rest reliable, a
// command commits within a bound; after healing, every node applies it.
import { seededUniform } from '@bulwark/random';
import { compareBallots, formatBallot, quorum, type Ballot } from '../lib/ballot';
import { defaultPaxosSettings, type PaxosSettings } from '../lib/config';
import type { Message } from '../lib/messages';
import { PaxosNode } from '../lib/node';
import type { Ready } from '../lib/ready';
import { MemoryStorage } from './memory-storage';
import { MutantPaxosNode, type CoreMutation } from './mutant-node';

/** Bugs the simulator can plant, to show it catches them. */
export type InjectedBug =
  /** Persist batches are acknowledged but never reach the disk. */
  | 'skip-fsync'
  /**
   * Misconfigured membership: the first three nodes are told the cluster is
   * them, the rest that it is the third node and themselves, so each side
   * counts a "majority" that is not one of the real cluster.
   */
  | 'split-membership'
  | CoreMutation;

export interface SimulationOptions {
  seed: number;
  members: 3 | 5;
  /** Ticks (of real time) of faults before the liveness phase. */
  chaosTicks: number;
  settings?: Partial<PaxosSettings>;
  /** Share of fault events that crash or restart a node (default 0.2). */
  crashShare?: number;
  bug?: InjectedBug;
  /** Collects a human-readable trace (for reproducing one seed). */
  trace?: (line: string) => void;
}

export interface SimulationResult {
  seed: number;
  violation: string | undefined;
  committedSlots: number;
  leaderChanges: number;
  crashes: number;
  /** Commands acknowledged to clients. */
  acknowledged: number;
}

/** Real time is counted in microticks; a tick of a node with no drift is this many. */
const microticksPerTick = 1_000;
/** A snapshot replaces the log once this many slots are held. */
const compactAtEntries = 24;
/** Share of messages delayed by up to longDelayTicksMax, beyond any election timeout. */
const longDelayChance = 0.003;
const longDelayTicksMax = 60;
/** Longest a write usually takes to become durable, in microticks. */
const diskDelayMax = 1_500;
/** Share of writes that stall (a slow fsync) for up to slowDiskTicksMax. */
const slowDiskChance = 0.002;
const slowDiskTicksMax = 30;
/** Longest a pause (a stopped process) lasts, in ticks: past any lease and election timeout. */
const pauseTicksMax = 40;
/** Recent catch-up requests kept for replay. */
const replayableMax = 16;
/** Messages in flight, bounded so a runaway loop fails instead of exhausting memory. */
const inFlightMax = 200_000;

type EventKind = 'tick' | 'deliver' | 'persisted' | 'resume' | 'chaos' | 'lateRequest';

interface Event {
  time: number;
  order: number;
  kind: EventKind;
  node: number;
  message: Message | undefined;
  /** For 'persisted': the incarnation whose write it completes (a crash voids it). */
  incarnation: number;
}

/** A binary min-heap on (time, order): deterministic for equal times. */
class EventQueue {
  private readonly heap: Event[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(event: Event): void {
    const heap = this.heap;
    heap.push(event);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!EventQueue.before(heap[index] as Event, heap[parent] as Event)) break;
      [heap[index], heap[parent]] = [heap[parent] as Event, heap[index] as Event];
      index = parent;
    }
  }

  pop(): Event | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && EventQueue.before(heap[left] as Event, heap[smallest] as Event)) smallest = left;
        if (right < heap.length && EventQueue.before(heap[right] as Event, heap[smallest] as Event)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest] as Event, heap[index] as Event];
        index = smallest;
      }
    }
    return top;
  }

  private static before(a: Event, b: Event): boolean {
    return a.time < b.time || (a.time === b.time && a.order < b.order);
  }
}

/** The replicated state machine of the simulation: a hash chain of applied commands. */
function chain(hash: number, command: Uint8Array): number {
  let h = hash ^ 0x811c9dc5;
  for (const byte of command) h = Math.imul(h ^ byte, 0x01000193);
  return Math.imul(h ^ command.length, 0x01000193) >>> 0;
}

function encodeSnapshot(hash: number): Uint8Array {
  return new TextEncoder().encode(String(hash));
}

function decodeSnapshot(data: Uint8Array): number {
  return Number(new TextDecoder().decode(data));
}

class SafetyViolation extends Error {}

/** One simulated process: the core, the runner's write in flight, the state machine. */
interface Member {
  node: PaxosNode | undefined;
  /** Bumped by every crash: a write completing for an older incarnation was lost. */
  incarnation: number;
  /** The Ready whose write is in flight. */
  writing: Ready | undefined;
  applied: { slot: bigint; hash: number };
  /** Commands this incarnation proposed and will acknowledge when it applies them. */
  proposals: Map<bigint, string>;
  /** The promise on disk: what the node would come back with. */
  durablePromised: Ballot;
  /** While paused (a stopped process), when it resumes; events for it wait. */
  pausedUntil: number | undefined;
  deferred: Event[];
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  // A short catch-up tail, so followers also catch up from snapshots.
  const settings: PaxosSettings = { ...defaultPaxosSettings, catchUpTailEntries: 8, ...options.settings };
  const random = seededUniform(options.seed);
  const chance = (probability: number) => random() < probability;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const trace = options.trace;
  const bug = options.bug;
  const mutation = bug === 'skip-fsync' || bug === 'split-membership' ? undefined : bug;

  const ids = Array.from({ length: options.members }, (_, index) => `n${index + 1}`);
  const realQuorum = quorum(ids.length);
  const drift = settings.clockDriftPpm / 1_000_000;
  const tickLength = ids.map(() => Math.round(microticksPerTick * (1 + (random() * 2 - 1) * drift)));
  const storages = ids.map(() => new MemoryStorage());
  const nodeRandom = ids.map((_, index) => seededUniform(options.seed * 31 + index + 1));
  const members: Member[] = ids.map(() => ({
    node: undefined,
    incarnation: 0,
    writing: undefined,
    applied: { slot: 0n, hash: 0 },
    proposals: new Map(),
    durablePromised: { round: 0n, nodeId: '' },
    pausedUntil: undefined,
    deferred: [],
  }));

  // Global knowledge for the invariants.
  const historyHash = new Map<bigint, number>([[0n, 0]]);
  const chosenValue = new Map<bigint, string>();
  const acceptVotes = new Map<string, { value: string; voters: Set<number> }>();
  const blocked = new Set<string>();
  let faults = { drop: 0.05, duplicate: 0.03, maxDelayTicks: 3, longDelayChance, slowDiskChance };
  /** Set by a directed fault: cut the leader off right after its next majority-acked heartbeat. */
  let isolateLeaderOnRenewal = false;
  /** Until then, chaos leaves the network as a directed fault shaped it. */
  let directedUntil = 0;
  /** Catch-up requests sent lately: the network may deliver one again much later. */
  const recentCatchUpRequests: Message[] = [];
  /** Directed late requests scheduled, by "node/incarnation": the companion cut off with that leader. */
  const lateRequests = new Map<string, number>();
  /** Catch-up traffic, for the steady-state checks at the end. */
  let catchUpEntriesSent = 0;
  let snapshotsSent = 0;
  /** The highest slot of a command acknowledged to its client. */
  let acknowledgedThrough = 0n;
  let acknowledged = 0;
  let clientCounter = 0;
  let committedSlots = 0;
  let leaderChanges = 0;
  let crashes = 0;
  let lastLeader: string | undefined;
  let inFlight = 0;
  let order = 0;
  let now = 0;

  const queue = new EventQueue();
  const schedule = (time: number, kind: EventKind, node: number, message?: Message, incarnation = 0) =>
    queue.push({ time, order: order++, kind, node, message, incarnation });

  const membersOf = (index: number): string[] => {
    if (bug !== 'split-membership') return ids;
    return index < 3 ? ids.slice(0, 3) : [ids[2] as string, ...ids.slice(3)];
  };

  const fail = (problem: string): never => {
    throw new SafetyViolation(`seed ${options.seed}: ${problem} at t=${(now / microticksPerTick).toFixed(3)}`);
  };

  function start(index: number): void {
    const id = ids[index] as string;
    const member = members[index] as Member;
    const durable = storages[index]!.recover();
    member.node = mutation
      ? new MutantPaxosNode(mutation, id, membersOf(index), settings, durable, nodeRandom[index]!)
      : new PaxosNode(id, membersOf(index), settings, durable, nodeRandom[index]!);
    member.applied = { slot: 0n, hash: 0 };
    member.writing = undefined;
    member.proposals = new Map();
    member.pausedUntil = undefined;
    member.deferred = [];
    trace?.(`t=${now} start ${id}`);
    pump(index);
  }

  function crash(index: number): void {
    const member = members[index] as Member;
    if (!member.node) return;
    member.node = undefined;
    member.writing = undefined;
    member.incarnation++;
    member.pausedUntil = undefined;
    member.deferred = [];
    crashes++;
    trace?.(`t=${now} crash ${ids[index]}`);
  }

  /** The runner's loop: take the next Ready when none is being written. */
  function pump(index: number): void {
    const member = members[index] as Member;
    const node = member.node;
    if (!node || member.writing || member.pausedUntil !== undefined || !node.hasReady()) return;
    const ready = node.takeReady();
    member.writing = ready;
    for (const message of ready.sendBeforePersist) send(message);
    // As the runner does: chosen values are applied (and answered) without waiting for this write.
    applyCommitted(index, ready);
    const slow = ready.persist !== undefined && chance(faults.slowDiskChance);
    const diskTime = !ready.persist
      ? 0
      : slow
        ? between(1, slowDiskTicksMax) * microticksPerTick
        : between(0, diskDelayMax);
    schedule(now + diskTime, 'persisted', index, undefined, member.incarnation);
  }

  function persisted(index: number, incarnation: number): void {
    const member = members[index] as Member;
    const node = member.node;
    const ready = member.writing;
    if (!node || !ready || member.incarnation !== incarnation) return;
    member.writing = undefined;
    if (ready.persist && bug !== 'skip-fsync') {
      storages[index]!.apply(ready.persist);
      if (ready.persist.promised) member.durablePromised = ready.persist.promised;
    }
    recordAccepts(index, ready);
    for (const message of ready.messages) send(message);
    node.advance();
    const applied = member.applied;
    if (node.logLength > compactAtEntries && node.compactableSlots * 2 > compactAtEntries) {
      node.compact(applied.slot, encodeSnapshot(applied.hash));
    }
    pump(index);
  }

  function recordAccepts(index: number, ready: Ready): void {
    for (const entry of ready.persist?.accepted ?? []) {
      const key = `${entry.slot}/${formatBallot(entry.ballot)}`;
      const value = new TextDecoder().decode(entry.command);
      let votes = acceptVotes.get(key);
      if (!votes) {
        votes = { value, voters: new Set() };
        acceptVotes.set(key, votes);
      }
      if (votes.value !== value) fail(`two values proposed in ballot ${key}: "${votes.value}" and "${value}"`);
      votes.voters.add(index);
      if (votes.voters.size >= realQuorum) {
        const earlier = chosenValue.get(entry.slot);
        if (earlier !== undefined && earlier !== value) {
          fail(`slot ${entry.slot} chose "${earlier}" and then "${value}" (ballot ${formatBallot(entry.ballot)})`);
        }
        chosenValue.set(entry.slot, value);
      }
    }
  }

  function applyCommitted(index: number, ready: Ready): void {
    const member = members[index] as Member;
    const state = member.applied;
    if (ready.snapshotToApply) {
      const { lastSlot, data } = ready.snapshotToApply;
      const expected = historyHash.get(lastSlot);
      if (expected === undefined) fail(`${ids[index]} installed a snapshot at ${lastSlot} that no node applied`);
      if (decodeSnapshot(data) !== expected)
        fail(`${ids[index]} installed a snapshot at ${lastSlot} with another history`);
      state.slot = lastSlot;
      state.hash = expected as number;
    }
    for (const entry of ready.committed) {
      if (entry.slot !== state.slot + 1n) fail(`${ids[index]} applied slot ${entry.slot} after ${state.slot}`);
      state.hash = chain(state.hash, entry.command);
      state.slot = entry.slot;
      const known = historyHash.get(entry.slot);
      if (known === undefined) {
        historyHash.set(entry.slot, state.hash);
        committedSlots++;
      } else if (known !== state.hash) {
        fail(`${ids[index]} committed prefix through slot ${entry.slot} differs from another node's`);
      }
      // The proposer answers its client once it applied its own command there.
      const proposed = member.proposals.get(entry.slot);
      if (proposed !== undefined) {
        member.proposals.delete(entry.slot);
        if (proposed === new TextDecoder().decode(entry.command)) {
          acknowledged++;
          if (entry.slot > acknowledgedThrough) acknowledgedThrough = entry.slot;
        }
      }
    }
    for (const slot of member.proposals.keys()) if (slot <= state.slot) member.proposals.delete(slot);
  }

  function send(message: Message): void {
    if (message.type === 'catchUp') catchUpEntriesSent += message.entries.length;
    if (message.type === 'installSnapshot') snapshotsSent++;
    if (message.type === 'catchUpRequest') {
      recentCatchUpRequests.push(message);
      if (recentCatchUpRequests.length > replayableMax) recentCatchUpRequests.shift();
    }
    const to = ids.indexOf(message.to);
    if (to < 0 || blocked.has(`${message.from}>${message.to}`) || chance(faults.drop)) return;
    const copies = chance(faults.duplicate) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      if (inFlight >= inFlightMax) fail(`more than ${inFlightMax} messages in flight`);
      inFlight++;
      // Now and then a message is held far longer than an election timeout (a stalled
      // stream, a retransmission from long ago): the protocol must not depend on promptness.
      const delayTicks = chance(faults.longDelayChance)
        ? between(1, longDelayTicksMax)
        : between(0, faults.maxDelayTicks);
      schedule(now + delayTicks * microticksPerTick + between(0, microticksPerTick), 'deliver', to, message);
    }
  }

  function checkInvariants(): void {
    let holders = 0;
    members.forEach((member, index) => {
      const node = member.node;
      // A paused process serves nothing; on resume its clock's ticks come first.
      if (!node || member.pausedUntil !== undefined) return;
      if (node.hasLease()) {
        holders++;
        checkLeaseProtected(node);
      }
      if (node.canReadLocally() && member.applied.slot < acknowledgedThrough) {
        fail(
          `stale read: ${ids[index]} may read locally at applied slot ${member.applied.slot}, but slot ${acknowledgedThrough} was acknowledged`,
        );
      }
    });
    if (holders > 1) {
      const names = members
        .filter((member) => member.pausedUntil === undefined && member.node?.hasLease())
        .map((member) => member.node!.id);
      fail(`leases held at once by ${names.join(', ')}`);
    }
    const leader = members.find((member) => member.node?.role === 'leader')?.node?.id;
    if (leader !== undefined && leader !== lastLeader) {
      leaderChanges++;
      lastLeader = leader;
      trace?.(`t=${now} leader ${leader}`);
    }
  }

  function checkLeaseProtected(holder: PaxosNode): void {
    const ballot = holder.promisedBallot;
    let protectors = 0;
    for (const member of members) {
      const node = member.node;
      // A node that is down promises nothing; it comes back protecting (see PaxosNode's constructor).
      const protects = node ? node.protectsLeaseOf(ballot) : compareBallots(member.durablePromised, ballot) <= 0;
      if (protects) protectors++;
    }
    if (protectors < realQuorum) {
      fail(`${holder.id} holds a lease in ballot ${formatBallot(ballot)} that only ${protectors} members protect`);
    }
  }

  /** Proposes through the first node that `accepts` (any self-styled leader by default). */
  function propose(
    command: string,
    accepts: (node: PaxosNode) => boolean = (node) => node.role === 'leader',
  ): bigint | undefined {
    for (let index = 0; index < members.length; index++) {
      const member = members[index] as Member;
      const node = member.node;
      if (!node || member.pausedUntil !== undefined || !accepts(node)) continue;
      const result = node.propose(new TextEncoder().encode(command));
      if (result.ok) member.proposals.set(result.slot, command);
      pump(index);
      if (result.ok) return result.slot;
    }
    return undefined;
  }

  /** Cuts index (with its companion, if any) off from everyone else. */
  function isolate(index: number, companion?: number): void {
    const id = ids[index] as string;
    const together = new Set([id, ids[companion ?? index] as string]);
    for (const other of ids) {
      if (together.has(other)) continue;
      for (const inside of together) {
        blocked.add(`${inside}>${other}`);
        blocked.add(`${other}>${inside}`);
      }
    }
  }

  const crashShare = options.crashShare ?? 0.2;

  function chaos(): void {
    // A directed fault is in progress: leave the network as it set it.
    if (now < directedUntil) return;
    const action = random();
    const alive = members.filter((member) => member.node).length;
    if (action < crashShare) {
      const index = between(0, ids.length - 1);
      if (members[index]!.node) {
        // Keep at most a minority down most of the time; sometimes more.
        if (alive > realQuorum || chance(0.2)) crash(index);
      } else start(index);
    } else if (action < crashShare + 0.2) {
      // A new partition: each directed link is cut with some probability.
      blocked.clear();
      const cut = random() * 0.6;
      for (const from of ids) for (const to of ids) if (from !== to && chance(cut)) blocked.add(`${from}>${to}`);
      trace?.(`t=${now} partition ${[...blocked].join(' ')}`);
    } else if (action < crashShare + 0.3) {
      // One way: a node that hears but is not heard, or is heard but hears nothing.
      blocked.clear();
      const id = ids[between(0, ids.length - 1)] as string;
      const outbound = chance(0.5);
      for (const other of ids) if (other !== id) blocked.add(outbound ? `${id}>${other}` : `${other}>${id}`);
      trace?.(`t=${now} one-way ${outbound ? 'mute' : 'deaf'} ${id}`);
    } else if (action < crashShare + 0.4) {
      // Leases are tested hardest when the leader is cut off just after a renewal, on a fast network.
      isolateLeaderOnRenewal = true;
    } else if (action < crashShare + 0.45) {
      const index = between(0, ids.length - 1);
      const member = members[index] as Member;
      if (member.node && member.pausedUntil === undefined) {
        member.pausedUntil = now + between(1, pauseTicksMax) * microticksPerTick;
        schedule(member.pausedUntil, 'resume', index, undefined, member.incarnation);
        trace?.(`t=${now} pause ${ids[index]}`);
      }
    } else if (action < crashShare + 0.5) {
      // A stale request delivered again: its answer reaches a node that may since have become leader.
      const stale = recentCatchUpRequests[between(0, recentCatchUpRequests.length - 1)];
      if (stale) {
        inFlight++;
        schedule(now, 'deliver', ids.indexOf(stale.to), stale);
      }
    } else if (action < crashShare + 0.55) {
      blocked.clear();
      trace?.(`t=${now} heal`);
    } else if (action < crashShare + 0.7) {
      faults = {
        drop: random() * 0.3,
        duplicate: random() * 0.1,
        maxDelayTicks: between(0, 6),
        longDelayChance,
        slowDiskChance,
      };
    } else {
      const index = between(0, ids.length - 1);
      if (!members[index]!.node) start(index);
    }
  }

  /** After a heartbeat reply reached a leader that (now) holds a lease: the directed isolation. */
  function maybeIsolateRenewedLeader(index: number, message: Message): void {
    if (!isolateLeaderOnRenewal || message.type !== 'heartbeatReply' || !members[index]!.node?.hasLease()) return;
    isolateLeaderOnRenewal = false;
    blocked.clear();
    // With five members the leader keeps one follower: a minority that still accepts its proposals.
    const companion = ids.length > 3 ? (index + between(1, ids.length - 1)) % ids.length : undefined;
    isolate(index, companion);
    faults = { drop: 0, duplicate: 0, maxDelayTicks: between(0, 1), longDelayChance: 0, slowDiskChance: 0 };
    trace?.(`t=${now} isolate renewed leader ${ids[index]}`);
    // Later, while it may still think it leads, a request it sent long ago reaches the other side.
    if (companion !== undefined) {
      const electedAfter = settings.electionTimeoutMinTicks + between(0, settings.electionTimeoutMaxTicks);
      lateRequests.set(`${index}/${members[index]!.incarnation}`, companion);
      schedule(now + electedAfter * microticksPerTick, 'lateRequest', index, undefined, members[index]!.incarnation);
    }
    directedUntil = now + settings.electionTimeoutMaxTicks * 2 * microticksPerTick;
  }

  /**
   * A cut-off (maybe deposed, not yet aware) leader's catch-up request,
   * sent long ago, reaches a node on the other side, and the answer finds a
   * way back (a one-way path opens): the leader hears values a newer ballot
   * chose. The request is one it could have sent (its commit point only
   * grows); the answer is a real one, carrying chosen values.
   */
  function deliverLateRequest(index: number, incarnation: number, companion: number): void {
    const member = members[index] as Member;
    const node = member.node;
    if (!node || member.incarnation !== incarnation) return;
    const others = ids.map((_, other) => other).filter((other) => other !== index && other !== companion);
    const to = others[between(0, others.length - 1)] as number;
    const from = ids[index] as string;
    const request: Message = { type: 'catchUpRequest', from, to: ids[to] as string, commitSlot: node.commitSlot };
    blocked.delete(`${ids[to]}>${from}`);
    inFlight++;
    schedule(now, 'deliver', to, request);
    trace?.(`t=${now} late catch-up request ${from}>${ids[to]}, answer path open`);
  }

  function handle(event: Event): void {
    const member = members[event.node] as Member;
    const node = member.node;
    if (event.kind === 'tick') {
      if (node) node.tick();
      pump(event.node);
    } else if (event.kind === 'deliver') {
      if (node && event.message) {
        node.receive(event.message);
        pump(event.node);
        maybeIsolateRenewedLeader(event.node, event.message);
      }
    } else if (event.kind === 'persisted') {
      persisted(event.node, event.incarnation);
    }
  }

  function resume(index: number, incarnation: number): void {
    const member = members[index] as Member;
    if (member.incarnation !== incarnation || member.pausedUntil === undefined) return;
    member.pausedUntil = undefined;
    trace?.(`t=${now} resume ${ids[index]}`);
    // As the real runner does: the clock's missed ticks first, then what arrived meanwhile.
    const deferred = member.deferred;
    member.deferred = [];
    for (const event of deferred) if (event.kind === 'tick') handle(event);
    for (const event of deferred) if (event.kind !== 'tick') handle(event);
  }

  const chaosEnd = options.chaosTicks * microticksPerTick;

  function runUntil(endTime: number, stop?: () => boolean): boolean {
    while (queue.size > 0) {
      const event = queue.pop() as Event;
      if (event.time > endTime) {
        queue.push(event);
        break;
      }
      now = event.time;
      const member = members[event.node] as Member;
      if (event.kind === 'deliver') inFlight--;
      if (event.kind === 'tick') schedule(now + (tickLength[event.node] as number), 'tick', event.node);
      if (event.kind === 'chaos') {
        if (now < chaosEnd) {
          chaos();
          schedule(now + between(1, 12) * microticksPerTick, 'chaos', 0);
        }
      } else if (event.kind === 'resume') {
        resume(event.node, event.incarnation);
      } else if (event.kind === 'lateRequest') {
        const companion = lateRequests.get(`${event.node}/${event.incarnation}`);
        if (companion !== undefined) deliverLateRequest(event.node, event.incarnation, companion);
      } else if (member.pausedUntil !== undefined) {
        member.deferred.push(event);
      } else {
        handle(event);
      }
      checkInvariants();
      if (stop?.()) return true;
    }
    now = Math.max(now, endTime);
    return false;
  }

  /**
   * A client that proposes `command` through a leader that may read locally
   * and retries through the next one when its leader is deposed before the
   * command is chosen, until it is applied on every node `counts`.
   */
  function commitWithin(command: string, boundTicks: number, counts: (index: number) => boolean): bigint {
    const deadline = now + boundTicks * microticksPerTick;
    let attempt: { slot: bigint; proposer: PaxosNode } | undefined;
    const committed = () =>
      attempt !== undefined &&
      chosenValue.get(attempt.slot) === command &&
      members.every(
        (member, index) => !counts(index) || (member.node !== undefined && member.applied.slot >= attempt!.slot),
      );
    while (now < deadline && !committed()) {
      const lost =
        attempt !== undefined &&
        chosenValue.get(attempt.slot) !== command &&
        (attempt.proposer.role !== 'leader' || !members.some((member) => member.node === attempt!.proposer));
      if (attempt === undefined || lost) {
        // Through a leader with a lease: a deposed leader may still think it leads.
        const slot = propose(command, (node) => node.canReadLocally());
        const proposer = members.find((member) => member.node?.canReadLocally())?.node;
        attempt = slot !== undefined && proposer ? { slot, proposer } : undefined;
      }
      runUntil(Math.min(deadline, now + microticksPerTick), committed);
    }
    if (!committed()) {
      const states = members.map((member, index) =>
        member.node
          ? `${member.node.id}: ${member.node.role}, leader ${member.node.leaderId ?? '-'}, ballot ${formatBallot(member.node.promisedBallot)}, commit ${member.node.commitSlot}, applied ${member.applied.slot}`
          : `${ids[index]}: down`,
      );
      fail(
        `"${command}" not applied within ${boundTicks} ticks (slot ${attempt?.slot ?? 'none'}); ${states.join('; ')}`,
      );
    }
    return (attempt as { slot: bigint }).slot;
  }

  /**
   * Healed, every member caught up: under a steady stream of commands on a
   * network that loses an Accept now and then, catch-up fills each gap and
   * stops (Accepts keep followers current), so it carries a fraction of
   * what commits; and once commands stop, no catch-up or snapshot flows.
   */
  function checkSteadyState(): void {
    const steadyTicks = 60;
    // Now and then an Accept is lost: the follower lags until caught up, then Accepts carry it again.
    faults = { ...faults, drop: 0.02 };
    const entriesBefore = catchUpEntriesSent;
    const committedBefore = committedSlots;
    for (let tick = 0; tick < steadyTicks; tick++) {
      propose(`steady-${tick}`);
      runUntil(now + microticksPerTick);
    }
    const caughtUp = catchUpEntriesSent - entriesBefore;
    const committed = committedSlots - committedBefore;
    if (caughtUp * 2 > committed + 16) {
      fail(
        `catch-up sent ${caughtUp} entries while ${committed} slots committed on a healed network that loses 2% of messages`,
      );
    }
    faults = { ...faults, drop: 0 };
    runUntil(now + settings.electionTimeoutMaxTicks * microticksPerTick);
    const quietFrom = { entries: catchUpEntriesSent, snapshots: snapshotsSent };
    runUntil(now + settings.electionTimeoutMaxTicks * microticksPerTick);
    if (catchUpEntriesSent !== quietFrom.entries || snapshotsSent !== quietFrom.snapshots) {
      fail(
        `catch-up kept flowing with nothing to catch up: ${catchUpEntriesSent - quietFrom.entries} entries, ${snapshotsSent - quietFrom.snapshots} snapshots`,
      );
    }
  }

  try {
    ids.forEach((_, index) => {
      start(index);
      schedule(between(0, microticksPerTick), 'tick', index);
    });
    schedule(between(1, 12) * microticksPerTick, 'chaos', 0);
    // Clients propose now and then through whichever node leads.
    for (let time = microticksPerTick; time < chaosEnd; time += between(1, 4) * microticksPerTick) {
      runUntil(time);
      propose(`c${clientCounter++}`);
    }
    runUntil(chaosEnd);

    // Liveness with a minority cut off: the majority alone must commit.
    blocked.clear();
    isolateLeaderOnRenewal = false;
    faults = { drop: 0, duplicate: 0, maxDelayTicks: 1, longDelayChance: 0, slowDiskChance: 0 };
    for (const member of members) if (member.pausedUntil !== undefined) member.pausedUntil = now;
    members.forEach((member, index) => {
      if (member.deferred.length > 0 || member.pausedUntil !== undefined) resume(index, member.incarnation);
      if (!member.node) start(index);
    });
    const minority = new Set<number>();
    while (minority.size < realQuorum - 1) minority.add(between(0, ids.length - 1));
    for (const index of minority) isolate(index);
    trace?.(`t=${now} liveness phase, cut off: ${[...minority].map((index) => ids[index]).join(', ')}`);
    const boundTicks = settings.electionTimeoutMaxTicks * 8 + 40;
    commitWithin(`majority-${options.seed}`, boundTicks, (index) => !minority.has(index));

    // Healed: everyone catches up and a last command reaches every node.
    blocked.clear();
    trace?.(`t=${now} healed`);
    commitWithin(`final-${options.seed}`, boundTicks, () => true);
    checkSteadyState();
    return { seed: options.seed, violation: undefined, committedSlots, leaderChanges, crashes, acknowledged };
  } catch (error) {
    if (!(error instanceof SafetyViolation)) throw error;
    return { seed: options.seed, violation: error.message, committedSlots, leaderChanges, crashes, acknowledged };
  }
}

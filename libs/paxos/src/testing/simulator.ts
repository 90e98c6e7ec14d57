// A seeded, deterministic simulator (FoundationDB / TigerBeetle VOPR style):
// N Paxos nodes with drifting clocks on a network that loses, duplicates,
// delays and reorders messages and partitions and heals, while nodes crash
// (volatile state lost, durable state kept) and restart. After every event it
// checks the safety invariants; at the end it heals everything and checks
// that a leader is elected and a command commits within a bounded time.
import { seededUniform } from '@bulwark/random';
import { formatBallot, quorum } from '../lib/ballot';
import { defaultPaxosSettings, type PaxosSettings } from '../lib/config';
import type { Message } from '../lib/messages';
import { PaxosNode, type Ready } from '../lib/node';
import { MemoryStorage } from './memory-storage';

/** Bugs the simulator can plant in the runner, to show it catches them. */
export type InjectedBug =
  /** Persist batches are acknowledged but never reach the disk. */
  | 'skip-fsync'
  /**
   * Misconfigured membership: the first three nodes are told the cluster is
   * them, the rest that it is the third node and themselves, so each side
   * counts a "majority" that is not one of the real cluster.
   */
  | 'split-membership';

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
}

/** Real time is counted in microticks; a tick of a node with no drift is this many. */
const microticksPerTick = 1_000;
/** A snapshot replaces the log once this many entries are held. */
const compactAtEntries = 24;
/** Share of messages delayed by up to longDelayTicksMax, beyond any election timeout. */
const longDelayChance = 0.003;
const longDelayTicksMax = 60;
/** Messages in flight, bounded so a runaway loop fails instead of exhausting memory. */
const inFlightMax = 200_000;

interface Event {
  time: number;
  order: number;
  kind: 'tick' | 'deliver' | 'chaos';
  node: number;
  message: Message | undefined;
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

export function runSimulation(options: SimulationOptions): SimulationResult {
  const settings: PaxosSettings = { ...defaultPaxosSettings, ...options.settings };
  const random = seededUniform(options.seed);
  const chance = (probability: number) => random() < probability;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const trace = options.trace;

  const ids = Array.from({ length: options.members }, (_, index) => `n${index + 1}`);
  const realQuorum = quorum(ids.length);
  const drift = settings.clockDriftPpm / 1_000_000;
  const tickLength = ids.map(() => Math.round(microticksPerTick * (1 + (random() * 2 - 1) * drift)));
  const storages = ids.map(() => new MemoryStorage());
  const nodes: Array<PaxosNode | undefined> = ids.map(() => undefined);
  const applied = ids.map(() => ({ slot: 0n, hash: 0 }));
  const nodeRandom = ids.map((_, index) => seededUniform(options.seed * 31 + index + 1));

  // Global knowledge for the invariants.
  const historyHash = new Map<bigint, number>([[0n, 0]]);
  const chosenValue = new Map<bigint, string>();
  const acceptVotes = new Map<string, { value: string; voters: Set<number> }>();
  const blocked = new Set<string>();
  let faults = { drop: 0.05, duplicate: 0.03, maxDelayTicks: 3, longDelayChance };
  let clientCounter = 0;
  let committedSlots = 0;
  let leaderChanges = 0;
  let crashes = 0;
  let lastLeader: string | undefined;
  let inFlight = 0;
  let order = 0;
  let now = 0;

  const queue = new EventQueue();
  const schedule = (time: number, kind: Event['kind'], node: number, message?: Message) =>
    queue.push({ time, order: order++, kind, node, message });

  const membersOf = (index: number): string[] => {
    if (options.bug !== 'split-membership') return ids;
    return index < 3 ? ids.slice(0, 3) : [ids[2] as string, ...ids.slice(3)];
  };

  const fail = (problem: string): never => {
    throw new SafetyViolation(`seed ${options.seed}: ${problem} at t=${(now / microticksPerTick).toFixed(3)}`);
  };

  function start(index: number): void {
    const id = ids[index] as string;
    const node = new PaxosNode(id, membersOf(index), settings, storages[index]!.recover(), nodeRandom[index]!);
    nodes[index] = node;
    applied[index] = { slot: 0n, hash: 0 };
    trace?.(`t=${now} start ${id}`);
    process(index, node.takeReady());
  }

  function crash(index: number): void {
    if (!nodes[index]) return;
    nodes[index] = undefined;
    crashes++;
    trace?.(`t=${now} crash ${ids[index]}`);
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
    const state = applied[index]!;
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
    }
  }

  function process(index: number, ready: Ready): void {
    if (ready.persist && options.bug !== 'skip-fsync') storages[index]!.apply(ready.persist);
    recordAccepts(index, ready);
    applyCommitted(index, ready);
    for (const message of ready.messages) send(message);
    const node = nodes[index];
    if (node && node.logLength > compactAtEntries && node.commitSlot > 0n && applied[index]!.slot === node.commitSlot) {
      node.compact(node.commitSlot, encodeSnapshot(applied[index]!.hash));
      const compacted = node.takeReady();
      if (compacted.persist && options.bug !== 'skip-fsync') storages[index]!.apply(compacted.persist);
    }
  }

  function send(message: Message): void {
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

  function checkLeases(): void {
    let holders = 0;
    for (const node of nodes) if (node?.hasLease()) holders++;
    if (holders > 1) {
      const names = nodes.filter((node) => node?.hasLease()).map((node) => node!.id);
      fail(`leases held at once by ${names.join(', ')}`);
    }
    const leader = nodes.find((node) => node?.role === 'leader')?.id;
    if (leader !== undefined && leader !== lastLeader) {
      leaderChanges++;
      lastLeader = leader;
      trace?.(`t=${now} leader ${leader}`);
    }
  }

  /** Proposes through the first node that `accepts` (any self-styled leader by default). */
  function propose(
    command: string,
    accepts: (node: PaxosNode) => boolean = (node) => node.role === 'leader',
  ): bigint | undefined {
    for (let index = 0; index < nodes.length; index++) {
      const node = nodes[index];
      if (!node || !accepts(node)) continue;
      const result = node.propose(new TextEncoder().encode(command));
      process(index, node.takeReady());
      if (result.ok) return result.slot;
    }
    return undefined;
  }

  const crashShare = options.crashShare ?? 0.2;

  function chaos(): void {
    const action = random();
    const alive = nodes.filter(Boolean).length;
    if (action < crashShare) {
      const index = between(0, ids.length - 1);
      if (nodes[index]) {
        // Keep at most a minority down most of the time; sometimes more.
        if (alive > realQuorum || chance(0.2)) crash(index);
      } else start(index);
    } else if (action < crashShare + 0.25) {
      // A new partition: each directed link is cut with some probability.
      blocked.clear();
      const cut = random() * 0.6;
      for (const from of ids) for (const to of ids) if (from !== to && chance(cut)) blocked.add(`${from}>${to}`);
      trace?.(`t=${now} partition ${[...blocked].join(' ')}`);
    } else if (action < crashShare + 0.4) {
      blocked.clear();
      trace?.(`t=${now} heal`);
    } else if (action < crashShare + 0.55) {
      faults = { drop: random() * 0.3, duplicate: random() * 0.1, maxDelayTicks: between(0, 6), longDelayChance };
    } else {
      const index = between(0, ids.length - 1);
      if (!nodes[index]) start(index);
    }
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
      if (event.kind === 'tick') {
        const node = nodes[event.node];
        if (node) {
          node.tick();
          process(event.node, node.takeReady());
        }
        schedule(now + (tickLength[event.node] as number), 'tick', event.node);
      } else if (event.kind === 'deliver') {
        inFlight--;
        const node = nodes[event.node];
        if (node && event.message) {
          node.receive(event.message);
          process(event.node, node.takeReady());
        }
      } else if (now < chaosEnd) {
        chaos();
        schedule(now + between(1, 12) * microticksPerTick, 'chaos', 0);
      }
      checkLeases();
      if (stop?.()) return true;
    }
    now = Math.max(now, endTime);
    return false;
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

    // Liveness: heal everything, restart everyone, keep the network reliable.
    blocked.clear();
    faults = { drop: 0, duplicate: 0, maxDelayTicks: 1, longDelayChance: 0 };
    ids.forEach((_, index) => nodes[index] ?? start(index));
    trace?.(`t=${now} liveness phase`);
    const boundTicks = settings.electionTimeoutMaxTicks * 6 + 40;
    const deadline = now + boundTicks * microticksPerTick;
    let slot: bigint | undefined;
    const finalCommand = `final-${options.seed}`;
    const committedEverywhere = () =>
      slot !== undefined &&
      nodes.every((node, index) => node !== undefined && applied[index]!.slot >= (slot as bigint));
    while (now < deadline && !committedEverywhere()) {
      // Through the leader with a lease: a deposed leader may still think it leads.
      if (slot === undefined) slot = propose(finalCommand, (node) => node.canReadLocally());
      runUntil(Math.min(deadline, now + microticksPerTick), committedEverywhere);
    }
    if (!committedEverywhere()) {
      const states = nodes.map((node, index) =>
        node
          ? `${node.id}: ${node.role}, leader ${node.leaderId ?? '-'}, ballot ${formatBallot(node.promisedBallot)}, commit ${node.commitSlot}, applied ${applied[index]!.slot}`
          : `${ids[index]}: down`,
      );
      fail(
        `no command committed on every node within ${boundTicks} ticks of healing (slot ${slot ?? 'none'}); ${states.join('; ')}`,
      );
    }
    if (chosenValue.get(slot as bigint) !== finalCommand) {
      fail(`the command proposed after healing was not the value chosen at slot ${slot}`);
    }
    return { seed: options.seed, violation: undefined, committedSlots, leaderChanges, crashes };
  } catch (error) {
    if (!(error instanceof SafetyViolation)) throw error;
    return { seed: options.seed, violation: error.message, committedSlots, leaderChanges, crashes };
  }
}

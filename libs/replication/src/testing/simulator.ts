// A seeded, deterministic simulator of one replica group (in the style of
// libs/paxos's): members with drifting clocks on a network that loses,
// duplicates, delays and reorders messages, partitions (also one way) and
// heals, while members crash (anything in flight lost), restart and pause,
// disks are slow, and a modelled coordinator fails over (automatically when
// a lease lapses, or by hand). Each member runs behind a model of the real
// runner: one Ready at a time, entries sent before the write, committed
// entries applied and answered, the write taking disk time, dependent
// messages after it, then advance(). Clients put, compare-and-set, delete
// and read STRONG through whichever member they think is primary.
//
// Invariants, checked as events happen:
// - one lease: no two members hold a primary lease at the same real time;
// - no acknowledged sync write lost: every write acknowledged as sync is in
//   the log of every later primary (and of the primary it was acked by);
// - committed prefixes agree: every member applies the same entry at each
//   sequence, and none discards applied state (sync runs);
// - a deposed primary completes nothing: no STRONG read answered and no
//   async write acknowledged by a member once a later epoch began;
// - the primary counts the coordinator's in-sync set: every member failover
//   may choose is counted by the commit rule of the epoch's primary;
// - staleness is a bound: a backup whose stalenessMs is s has applied every
//   write acknowledged as sync before s ago (converted to real time by its
//   clock's rate), which BOUNDED reads rely on;
// - the recorded client history is linearizable (libs/history; sync runs);
// - liveness: once faults stop, a write commits and all members converge.
import { checkLinearizability, HistoryRecorder, type PendingOperation } from '@bulwark/history';
import { seededUniform } from '@bulwark/random';
import type {
  CoordinatorRequest,
  Durability,
  GroupView,
  LogEntry,
  ReplicationMessage,
  SnapshotPoint,
} from '../lib/messages';
import { emptySnapshotPoint, ReplicaNode } from '../lib/node';
import type { Ready } from '../lib/ready';
import { defaultReplicationSettings, type ReplicationSettings } from '../lib/settings';
import { EventQueue } from './event-queue';
import { MutantReplicaNode, type ReplicationMutation } from './mutant-node';
import { encodeRegisterCommand, RegisterMachine, type RegisterCommand } from './register-machine';
import { SimCoordinator } from './sim-coordinator';
import { SimStorage } from './sim-storage';

/** sync: every write sync, history checked; async: the group is async, losses counted; mixed: a sync group, some writes async. */
export type SimulationMode = 'sync' | 'async' | 'mixed';

export interface SimulationOptions {
  readonly seed: number;
  readonly members?: 3 | 5;
  readonly mode?: SimulationMode;
  /** Real milliseconds of faults before the quiet phase. */
  readonly chaosMs?: number;
  readonly bug?: ReplicationMutation;
  readonly trace?: (line: string) => void;
}

export interface SimulationResult {
  readonly seed: number;
  readonly violation: string | undefined;
  readonly acknowledgedWrites: number;
  readonly failovers: number;
  readonly crashes: number;
  /** Async runs: acknowledged writes a failover lost (counted, not a violation). */
  readonly lostAsyncWrites: number;
}

const coordinatorId = 'coordinator';
const leaseMs = 600;
const clockDriftMs = 60;
const tickMs = 10;
const quietMs = 4_000;
const clientTimeoutMs = 800;
const keys = ['a', 'b', 'c'];

const simSettings: ReplicationSettings = {
  ...defaultReplicationSettings,
  heartbeatIntervalMs: 50,
  resendAfterMs: 150,
  ackTimeoutMs: 300,
  leaseRequestRetryMs: 100,
  coordinatorRetryMs: 150,
  clockDriftMs,
  uncommittedEntriesMax: 48,
  batchEntriesMax: 4,
  windowEntriesMax: 16,
};

/** Coordinator traffic, as the simulator carries it (the real runner calls coordinator.v1). */
type CoordinatorMessage =
  | { readonly type: 'renew'; readonly from: string; readonly epoch: bigint; readonly sentAtLocalMs: number }
  | { readonly type: 'inSync'; readonly from: string; readonly epoch: bigint; readonly inSync: readonly string[] }
  | { readonly type: 'durable'; readonly from: string; readonly lastSequence: bigint; readonly lastEpoch: bigint }
  | { readonly type: 'grant'; readonly to: string; readonly epoch: bigint; readonly sentAtLocalMs: number }
  | { readonly type: 'view'; readonly to: string; readonly view: GroupView }
  | { readonly type: 'query'; readonly to: string };

interface Waiter {
  readonly pending: PendingOperation;
  readonly client: Client;
  readonly operation: number;
  readonly command: RegisterCommand;
  readonly durability: Durability;
}

interface Member {
  readonly id: string;
  readonly storage: SimStorage;
  readonly clockRate: number;
  readonly clockOffsetMs: number;
  node: ReplicaNode | undefined;
  machine: RegisterMachine;
  readyInFlight: boolean;
  pausedUntilMs: number;
  /** Events that reached the member while it was paused, run when it resumes. */
  deferred: Array<() => void>;
  /** Bumped at every crash, so events of an earlier life are dropped. */
  incarnation: number;
  waiters: Map<bigint, Waiter>;
  slowDisk: boolean;
  snapshotFetchTimer: number;
  wasPrimary: boolean;
}

interface Client {
  readonly id: string;
  busy: boolean;
  /** Bumped per operation, so a late answer to an earlier one is ignored. */
  operation: number;
}

interface AckedWrite {
  readonly sequence: bigint;
  readonly epoch: bigint;
  readonly durability: Durability;
  /** The epoch of the primary that acknowledged it: every primary of it or a later one must hold it. */
  readonly ackedInEpoch: bigint;
}

/** A sync write's acknowledgement: when (real time), and the highest sequence acknowledged as sync until then. */
interface SyncAcks {
  readonly atMs: number;
  readonly sequenceMax: bigint;
}

class Violation extends Error {}

export function runSimulation(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}

class Simulation {
  private readonly random: { next: () => number };
  private readonly queue = new EventQueue();
  private readonly members: Member[] = [];
  private readonly clients: Client[] = [];
  private readonly coordinator: SimCoordinator;
  private readonly coordinatorClockRate: number;
  private readonly recorder: HistoryRecorder;
  private readonly mode: SimulationMode;
  private readonly chaosMs: number;
  private nowMs = 0;
  private quiet = false;
  /** Directed links that drop everything: `${from}>${to}`. */
  private readonly cut = new Set<string>();
  private lossRate = 0.05;
  private readonly applied = new Map<bigint, string>();
  private readonly acked: AckedWrite[] = [];
  /** One per sync acknowledgement, in time order. */
  private readonly syncAcks: SyncAcks[] = [];
  private crashes = 0;
  private writesAckedInQuiet = 0;
  private valueCounter = 0;

  constructor(private readonly options: SimulationOptions) {
    this.random = { next: seededUniform(options.seed) };
    this.mode = options.mode ?? 'sync';
    this.chaosMs = options.chaosMs ?? 3_000;
    this.recorder = new HistoryRecorder(() => this.nowMs);
    const count = options.members ?? 3;
    const ids = Array.from({ length: count }, (_, index) => `r${index + 1}`);
    for (const id of ids) {
      const member: Member = {
        id,
        storage: new SimStorage(),
        // Rates within 5% of real time: inside the D / L = 10% the lease assumes.
        clockRate: 0.95 + this.random.next() * 0.1,
        clockOffsetMs: Math.floor(this.random.next() * 1_000_000),
        node: undefined,
        machine: new RegisterMachine(),
        readyInFlight: false,
        pausedUntilMs: 0,
        deferred: [],
        incarnation: 0,
        waiters: new Map(),
        slowDisk: false,
        snapshotFetchTimer: 0,
        wasPrimary: false,
      };
      this.members.push(member);
    }
    this.coordinatorClockRate = 0.95 + this.random.next() * 0.1;
    this.coordinator = new SimCoordinator(
      ids,
      this.mode === 'async' ? 'async' : 'sync',
      { leaseMs, clockDriftMs, collectMs: 40 },
      this.coordinatorNow(),
      0,
    );
    for (const member of this.members) this.start(member);
    for (let index = 0; index < 3; index++) this.clients.push({ id: `c${index + 1}`, busy: false, operation: 0 });
  }

  run(): SimulationResult {
    let violation: string | undefined;
    try {
      this.scheduleTicks();
      this.scheduleFaults();
      for (const client of this.clients) this.at(this.random.next() * 20, () => this.clientStep(client));
      this.at(this.chaosMs, () => this.beginQuiet());
      const endMs = this.chaosMs + quietMs;
      for (let event = this.queue.next(); event && event.atMs <= endMs; event = this.queue.next()) {
        this.nowMs = event.atMs;
        event.run();
        this.checkLeases();
        this.checkStaleness();
        this.checkInSyncCounted();
      }
      this.nowMs = endMs;
      this.checkEnd();
    } catch (error) {
      if (!(error instanceof Violation)) throw error;
      violation = `seed ${this.options.seed}: ${error.message}`;
    }
    return {
      seed: this.options.seed,
      violation,
      acknowledgedWrites: this.acked.length,
      failovers: this.coordinator.failoverCount,
      crashes: this.crashes,
      lostAsyncWrites: this.mode === 'sync' ? 0 : this.lostWrites().length,
    };
  }

  // ---- Time, clocks, scheduling ----

  /** An integer in [0, bound). */
  private below(bound: number): number {
    return Math.floor(this.random.next() * bound);
  }

  private at(delayMs: number, run: () => void): void {
    this.queue.schedule(this.nowMs + delayMs, run);
  }

  private localNow(member: Member): number {
    return member.clockOffsetMs + this.nowMs * member.clockRate;
  }

  private coordinatorNow(): number {
    return this.nowMs * this.coordinatorClockRate;
  }

  private trace(line: string): void {
    this.options.trace?.(`${this.nowMs.toFixed(2).padStart(9)} ${line}`);
  }

  /** Runs `event` at the member now, later if it is paused, never if it crashed or restarted since. */
  private atMember(member: Member, event: (node: ReplicaNode) => void): void {
    const incarnation = member.incarnation;
    const run = () => {
      if (member.incarnation !== incarnation || !member.node) return;
      member.node.tick(this.localNow(member));
      event(member.node);
      this.afterEvent(member);
    };
    if (this.nowMs < member.pausedUntilMs) member.deferred.push(run);
    else run();
  }

  private scheduleTicks(): void {
    const tick = () => {
      for (const member of this.members) this.atMember(member, () => undefined);
      this.coordinatorTick();
      this.at(tickMs, tick);
    };
    this.at(tickMs, tick);
  }

  // ---- Members and their runner ----

  private start(member: Member): void {
    member.incarnation++;
    const recovered = member.storage.recover();
    const settings = simSettings;
    member.node = this.options.bug
      ? new MutantReplicaNode(this.options.bug, member.id, settings, recovered, this.localNow(member))
      : new ReplicaNode(member.id, settings, recovered, this.localNow(member));
    const { point, state } = member.storage.snapshot;
    member.machine = RegisterMachine.restore(state, point.lastSequence);
    member.readyInFlight = false;
    member.wasPrimary = false;
    this.trace(
      `${member.id} starts: epoch ${recovered.highestEpoch}, led ${recovered.ledEpoch}, log ${point.lastSequence}+${recovered.entries.length}`,
    );
    this.sendView(member.id);
  }

  private crash(member: Member): void {
    if (!member.node) return;
    this.crashes++;
    this.trace(`${member.id} crashes`);
    member.node = undefined;
    member.incarnation++;
    member.deferred = [];
    member.pausedUntilMs = 0;
    for (const waiter of member.waiters.values())
      this.answer(waiter.client, waiter.operation, () => waiter.pending.unknown());
    member.waiters.clear();
  }

  private afterEvent(member: Member): void {
    const node = member.node;
    if (!node) return;
    this.checkNewPrimary(member);
    for (const request of node.takeCoordinatorRequests()) this.sendCoordinatorRequest(member, request);
    this.compactIfLong(member);
    if (member.readyInFlight || !node.hasReady()) return;
    const ready = node.takeReady();
    member.readyInFlight = true;
    this.handleReady(member, node, ready);
  }

  private handleReady(member: Member, node: ReplicaNode, ready: Ready): void {
    if (ready.discardState) {
      if (this.mode === 'sync') throw new Violation(`${member.id} discarded applied state in a sync run`);
      if (this.coordinator.view.inSync.includes(member.id) && this.coordinator.view.primary !== member.id) {
        throw new Violation(`${member.id} discarded applied state while in the in-sync set`);
      }
      member.machine = new RegisterMachine();
      member.storage.saveSnapshot(emptySnapshotPoint, new Map(), 'none');
    }
    for (const message of ready.sendBeforePersist) this.sendReplication(message);
    for (const entry of ready.committed) this.apply(member, node, entry);
    if (ready.abandonedFrom !== undefined) {
      for (const [sequence, waiter] of member.waiters) {
        if (sequence >= ready.abandonedFrom) {
          member.waiters.delete(sequence);
          this.answer(waiter.client, waiter.operation, () => waiter.pending.unknown());
        }
      }
    }
    const incarnation = member.incarnation;
    const finish = () => {
      if (member.incarnation !== incarnation || !member.node) return;
      if (ready.persist) member.storage.append(ready.persist);
      for (const message of ready.messages) this.sendReplication(message);
      if (ready.fetchSnapshot) this.fetchSnapshot(member, ready.fetchSnapshot.from, ready.fetchSnapshot.epoch);
      member.readyInFlight = false;
      node.advance();
      this.afterEvent(member);
    };
    if (!ready.persist) {
      finish();
      return;
    }
    const diskMs = member.slowDisk ? 20 + this.random.next() * 40 : 0.1 + this.random.next() * 1.5;
    this.at(diskMs, () => {
      if (this.nowMs < member.pausedUntilMs) member.deferred.push(finish);
      else finish();
    });
  }

  private apply(member: Member, node: ReplicaNode, entry: LogEntry): void {
    const text = `${entry.epoch}:${new TextDecoder().decode(entry.command)}`;
    if (this.mode === 'sync') {
      const first = this.applied.get(entry.sequence);
      if (first === undefined) this.applied.set(entry.sequence, text);
      else if (first !== text) {
        throw new Violation(`${member.id} applied ${text} at ${entry.sequence}, where ${first} was applied before`);
      }
    }
    const outcome = member.machine.apply(entry);
    const waiter = member.waiters.get(entry.sequence);
    if (!waiter) return;
    member.waiters.delete(entry.sequence);
    if (!node.mayAcknowledge(entry.sequence, this.localNow(member))) {
      this.answer(waiter.client, waiter.operation, () => waiter.pending.unknown());
      return;
    }
    // A deposed primary may still answer writes its in-sync set holds (they
    // committed by the sync rule), never one only it has: an async write it
    // answers must survive like a sync one.
    const durability = this.deposed(node) ? 'sync' : waiter.durability;
    const ackedWrite: AckedWrite = {
      sequence: entry.sequence,
      epoch: entry.epoch,
      durability,
      ackedInEpoch: node.epoch,
    };
    this.acked.push(ackedWrite);
    if (durability === 'sync') {
      const last = this.syncAcks[this.syncAcks.length - 1];
      const highest = last && last.sequenceMax > entry.sequence ? last.sequenceMax : entry.sequence;
      this.syncAcks.push({ atMs: this.nowMs, sequenceMax: highest });
    }
    if (this.quiet) this.writesAckedInQuiet++;
    if (durability === 'sync') for (const other of this.members) this.checkHasWrite(other, ackedWrite);
    // A directed fault: a primary that dies right after acknowledging a
    // write leaves its backups a commit point short of what it promised.
    if (!this.quiet && this.random.next() < 0.005) this.at(0, () => this.crash(member));
    this.answer(waiter.client, waiter.operation, () => waiter.pending.ok(waiter.command.op === 'cas' ? outcome : null));
  }

  /** The member is primary of an epoch the coordinator has already replaced. */
  private deposed(node: ReplicaNode): boolean {
    const next = this.coordinator.epochStartedAt(node.epoch + 1n);
    return next !== undefined && next <= this.nowMs;
  }

  private compactIfLong(member: Member): void {
    const node = member.node;
    if (!node || member.readyInFlight) return;
    if (node.appliedSequence - node.logSnapshot.lastSequence < 40) return;
    const point = node.snapshotPoint();
    const keepFrom = point.lastSequence > 10n ? point.lastSequence - 10n : 1n;
    member.storage.saveSnapshot(point, member.machine.copy(), keepFrom);
    node.compacted(point, keepFrom);
  }

  private fetchSnapshot(member: Member, from: string, epoch: bigint): void {
    this.deliver(member.id, from, () => {
      const source = this.memberById(from);
      this.atMember(source, (node) => {
        if (node.epoch !== epoch || node.role !== 'primary') return;
        const { point, state } = source.storage.snapshot;
        this.deliver(from, member.id, () =>
          this.atMember(member, (target) => this.installSnapshot(member, target, point, state)),
        );
      });
    });
    const timer = ++member.snapshotFetchTimer;
    const incarnation = member.incarnation;
    this.at(300, () => {
      if (member.incarnation === incarnation && member.snapshotFetchTimer === timer && member.node) {
        this.atMember(member, (node) => node.snapshotFetchFailed());
      }
    });
  }

  private installSnapshot(
    member: Member,
    node: ReplicaNode,
    point: SnapshotPoint,
    state: ReadonlyMap<string, string>,
  ): void {
    if (member.readyInFlight) {
      node.snapshotFetchFailed();
      return;
    }
    if (!node.acceptsSnapshot(point)) {
      node.snapshotFetchFailed();
      return;
    }
    member.snapshotFetchTimer++;
    member.storage.saveSnapshot(point, state, 'none');
    member.machine = RegisterMachine.restore(state, point.lastSequence);
    node.snapshotInstalled(point);
    this.trace(`${member.id} installed a snapshot through ${point.lastSequence}`);
  }

  // ---- Network ----

  private memberById(id: string): Member {
    return this.members.find((member) => member.id === id) as Member;
  }

  /** Carries one message from -> to: lost, delayed, reordered or duplicated as the network does. */
  private deliver(from: string, to: string, arrive: () => void, duplicates = true): void {
    if (this.cut.has(`${from}>${to}`)) return;
    if (!this.quiet && this.random.next() < this.lossRate) return;
    const copies = duplicates && !this.quiet && this.random.next() < 0.02 ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      const slow = !this.quiet && this.random.next() < 0.05;
      this.at(slow ? 5 + this.random.next() * 60 : 0.05 + this.random.next() * 1.5, arrive);
    }
  }

  private sendReplication(message: ReplicationMessage): void {
    this.deliver(message.from, message.to, () => {
      this.atMember(this.memberById(message.to), (node) => node.step(message));
    });
  }

  private sendView(to: string): void {
    const view = this.coordinator.view;
    this.coordinatorSend({ type: 'view', to, view });
  }

  private coordinatorSend(message: CoordinatorMessage & { to: string }): void {
    this.deliver(coordinatorId, message.to, () => {
      const member = this.memberById(message.to);
      this.atMember(member, (node) => {
        if (message.type === 'view') node.observeView(message.view);
        else if (message.type === 'grant') node.leaseGranted(message.epoch, message.sentAtLocalMs, leaseMs);
        else if (message.type === 'query') {
          const state = node.durableState();
          this.deliver(member.id, coordinatorId, () => this.coordinator.durableAnswer(member.id, state));
        }
      });
    });
  }

  private sendCoordinatorRequest(member: Member, request: CoordinatorRequest): void {
    const sentAtLocalMs = this.localNow(member);
    this.deliver(member.id, coordinatorId, () => {
      if (request.type === 'renewLease') {
        const granted = this.coordinator.renewLease(member.id, request.epoch, this.coordinatorNow());
        if (granted !== undefined) {
          this.coordinatorSend({ type: 'grant', to: member.id, epoch: request.epoch, sentAtLocalMs });
        }
      } else {
        const previous = this.coordinator.view;
        if (!this.coordinator.updateInSync(member.id, request.epoch, request.inSync, request.requestId)) return;
        this.trace(`coordinator: in-sync ${this.coordinator.view.inSync.join(',')}`);
        for (const other of this.members) this.sendView(other.id);
        // The watch event of the record before, late behind the answer to the change (two paths, no order).
        if (!this.quiet && this.random.next() < 0.3) {
          this.at(2 + this.random.next() * 20, () =>
            this.coordinatorSend({ type: 'view', to: member.id, view: previous }),
          );
        }
      }
    });
  }

  private coordinatorTick(): void {
    const { query, changed } = this.coordinator.tick(this.coordinatorNow(), this.nowMs);
    for (const to of query) this.coordinatorSend({ type: 'query', to });
    if (changed) {
      const view = this.coordinator.view;
      this.trace(`coordinator: epoch ${view.epoch}, primary ${view.primary}, in-sync ${view.inSync.join(',')}`);
      if (!this.quiet && this.random.next() < 0.3) this.troubleNewPrimary(this.memberById(view.primary));
    }
    // The watch: views reach members on change and are re-sent, as a resumed watch would.
    if (changed || Math.floor(this.nowMs / tickMs) % 10 === 0)
      for (const member of this.members) this.sendView(member.id);
  }

  // ---- Clients ----

  /** Answers the client's `operation` (an RPC over TCP: never duplicated, lost only with its connection). */
  private answer(client: Client, operation: number, complete: () => void): void {
    this.at(0.05 + this.random.next(), () => {
      if (client.operation !== operation || !client.busy) return;
      complete();
      client.busy = false;
      this.at(this.random.next() * 10, () => this.clientStep(client));
    });
  }

  private clientStep(client: Client): void {
    // Clients stop a second before the end, so the members can converge.
    if (client.busy || this.nowMs > this.chaosMs + quietMs - 1_000) return;
    client.busy = true;
    const operation = ++client.operation;
    const key = keys[this.below(keys.length)] as string;
    const roll = this.random.next();
    const value = `v${++this.valueCounter}`;
    const command: RegisterCommand =
      roll < 0.35
        ? { op: 'put', key, value, expect: null }
        : roll < 0.55
          ? { op: 'cas', key, value, expect: this.random.next() < 0.5 ? null : `v${this.below(this.valueCounter) + 1}` }
          : roll < 0.6
            ? { op: 'del', key, value: null, expect: null }
            : { op: 'put', key, value: null, expect: null };
    const isRead = command.value === null && command.op === 'put';
    const pending = this.recorder.invoke(
      isRead
        ? { client: client.id, key, op: 'get' }
        : { client: client.id, key, op: command.op, value: command.value, expect: command.expect },
    );
    // A client times out: a write's outcome is then unknown, and so (harmlessly) is a read's.
    this.at(clientTimeoutMs, () => {
      if (client.operation !== operation || !client.busy) return;
      pending.unknown();
      client.busy = false;
      this.at(this.random.next() * 10, () => this.clientStep(client));
    });
    const primary = this.coordinator.view.primary;
    const target =
      this.random.next() < 0.85 && primary !== ''
        ? primary
        : (this.members[this.below(this.members.length)] as Member).id;
    this.deliver(
      client.id,
      target,
      () => {
        const member = this.memberById(target);
        this.atMember(member, (node) => {
          if (isRead) this.read(member, node, client, operation, key, pending);
          else this.write(member, node, client, operation, command, pending);
        });
      },
      false,
    );
  }

  private read(
    member: Member,
    node: ReplicaNode,
    client: Client,
    operation: number,
    key: string,
    pending: PendingOperation,
  ): void {
    if (!node.canReadStrongly(this.localNow(member))) {
      this.answer(client, operation, () => pending.fail());
      return;
    }
    if (this.deposed(node)) {
      throw new Violation(
        `${member.id} served a STRONG read in epoch ${node.epoch} after epoch ${node.epoch + 1n} began`,
      );
    }
    const value = member.machine.get(key);
    this.answer(client, operation, () => pending.ok(value));
  }

  private write(
    member: Member,
    node: ReplicaNode,
    client: Client,
    operation: number,
    command: RegisterCommand,
    pending: PendingOperation,
  ): void {
    const durability: Durability =
      this.mode === 'async' || (this.mode === 'mixed' && this.random.next() < 0.3) ? 'async' : 'sync';
    const result = node.propose(encodeRegisterCommand(command), durability);
    if (!result.ok) {
      this.answer(client, operation, () => pending.fail());
      return;
    }
    member.waiters.set(result.sequence, { pending, client, operation, command, durability });
  }

  // ---- Faults ----

  private scheduleFaults(): void {
    const fault = () => {
      if (this.quiet) return;
      this.injectFault();
      this.at(50 + this.random.next() * 250, fault);
    };
    this.at(100, fault);
  }

  private injectFault(): void {
    const member = this.members[this.below(this.members.length)] as Member;
    const primary = this.members.find((candidate) => candidate.id === this.coordinator.view.primary);
    const victim = primary && this.random.next() < 0.5 ? primary : member;
    const roll = this.random.next();
    if (roll < 0.2) {
      this.crash(victim);
      this.at(30 + this.random.next() * 600, () => {
        if (!victim.node) this.start(victim);
      });
    } else if (roll < 0.35) {
      const pauseMs = this.random.next() < 0.5 ? 20 + this.random.next() * 300 : 600 + this.random.next() * 900;
      this.trace(`${victim.id} pauses for ${pauseMs.toFixed(0)} ms`);
      victim.pausedUntilMs = Math.max(victim.pausedUntilMs, this.nowMs + pauseMs);
      this.at(pauseMs, () => this.resume(victim));
    } else if (roll < 0.6) {
      const peers = [...this.members.map((candidate) => candidate.id), coordinatorId].filter((id) => id !== victim.id);
      const oneWay = this.random.next() < 0.3;
      const links = peers
        .filter(() => this.random.next() < 0.7)
        .flatMap((peer) => (oneWay ? [`${victim.id}>${peer}`] : [`${victim.id}>${peer}`, `${peer}>${victim.id}`]));
      this.trace(`cut ${links.join(' ')}`);
      for (const link of links) this.cut.add(link);
      this.at(100 + this.random.next() * 900, () => {
        for (const link of links) this.cut.delete(link);
      });
    } else if (roll < 0.7) {
      this.lossRate = this.random.next() < 0.5 ? 0.3 : 0.05;
    } else if (roll < 0.8) {
      victim.slowDisk = !victim.slowDisk;
    } else if (roll < 0.88) {
      const target = this.coordinator.view.inSync[this.below(this.coordinator.view.inSync.length)] as string;
      this.trace(`manual failover to ${target}`);
      this.coordinator.requestHandover(target);
    }
  }

  /**
   * A directed fault: the new primary's first moments are when it knows
   * least (its commit point lags what its predecessor acknowledged). Soon
   * after it starts, cut what it sends for a while, then crash it.
   */
  private troubleNewPrimary(primary: Member): void {
    this.at(1 + this.random.next() * 30, () => {
      const links = this.members.filter((member) => member !== primary).map((member) => `${primary.id}>${member.id}`);
      this.trace(`cut ${links.join(' ')}, then crash ${primary.id}`);
      for (const link of links) this.cut.add(link);
      this.at(20 + this.random.next() * 60, () => this.crash(primary));
      this.at(100 + this.random.next() * 300, () => {
        for (const link of links) this.cut.delete(link);
        if (!primary.node) this.start(primary);
      });
    });
  }

  private resume(member: Member): void {
    if (this.nowMs < member.pausedUntilMs) return;
    const deferred = member.deferred;
    member.deferred = [];
    for (const run of deferred) run();
  }

  private beginQuiet(): void {
    this.trace('quiet: faults stop, the network heals, everyone is up');
    this.quiet = true;
    this.cut.clear();
    this.lossRate = 0;
    for (const member of this.members) {
      member.slowDisk = false;
      if (!member.node) this.start(member);
      if (member.pausedUntilMs > this.nowMs) {
        member.pausedUntilMs = 0;
        this.resume(member);
      }
    }
  }

  // ---- Invariants ----

  private checkLeases(): void {
    const holders = this.members.filter((member) => member.node?.holdsLease(this.localNow(member)));
    if (holders.length > 1) {
      throw new Violation(
        `leases held at once by ${holders.map((member) => `${member.id} (epoch ${member.node?.epoch})`).join(' and ')}`,
      );
    }
  }

  /** Every backup has applied the sync writes acknowledged before its staleness bound. */
  private checkStaleness(): void {
    for (const member of this.members) {
      const node = member.node;
      if (!node || node.role !== 'backup') continue;
      const stalenessMs = node.stalenessMs(this.localNow(member));
      if (!Number.isFinite(stalenessMs)) continue;
      const freshAsOfMs = this.nowMs - stalenessMs / member.clockRate;
      // The last sync acknowledgement before then (they are in time order), and the highest sequence up to it.
      let low = 0;
      let high = this.syncAcks.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if ((this.syncAcks[middle] as SyncAcks).atMs < freshAsOfMs) low = middle + 1;
        else high = middle;
      }
      const covered = this.syncAcks[low - 1];
      if (covered && node.appliedSequence < covered.sequenceMax) {
        throw new Violation(
          `${member.id} claims to be ${stalenessMs.toFixed(1)} ms stale but has applied ${node.appliedSequence}, ` +
            `short of sync write ${covered.sequenceMax} acknowledged ${(this.nowMs - covered.atMs).toFixed(1)} ms ago`,
        );
      }
    }
  }

  /**
   * The primary of the coordinator's epoch counts every member the
   * coordinator has in sync: failover may choose any of them, so a write
   * committed without one could be lost.
   */
  private checkInSyncCounted(): void {
    const { view } = this.coordinator;
    const primary = this.memberById(view.primary);
    const node = primary.node;
    if (!node || node.role === 'backup' || node.epoch !== view.epoch) return;
    // Checked after every event: asks the node member by member rather than building its lag report.
    if (view.inSync.every((member) => node.countsForCommit(member))) return;
    const missing = view.inSync.filter((member) => !node.countsForCommit(member));
    throw new Violation(
      `${primary.id}, primary of epoch ${view.epoch}, commits without ${missing.join(',')} of the coordinator's in-sync set`,
    );
  }

  /** A member that just became primary must hold every write acknowledged as sync. */
  private checkNewPrimary(member: Member): void {
    const node = member.node as ReplicaNode;
    const isPrimary = node.role !== 'backup';
    if (isPrimary && !member.wasPrimary) {
      this.trace(`${member.id} leads epoch ${node.epoch} from ${node.lastSequence}`);
      for (const write of this.acked) if (write.durability === 'sync') this.checkHasWrite(member, write);
    }
    member.wasPrimary = isPrimary;
  }

  private checkHasWrite(member: Member, write: AckedWrite): void {
    const node = member.node;
    if (!node || node.role === 'backup' || node.epoch < write.ackedInEpoch) return;
    if (node.lastSequence < write.sequence || node.epochAt(write.sequence) !== write.epoch) {
      throw new Violation(
        `${member.id}, primary of epoch ${node.epoch}, lacks write ${write.sequence} (epoch ${write.epoch}) acknowledged as sync`,
      );
    }
  }

  private checkEnd(): void {
    if (this.writesAckedInQuiet === 0) throw new Violation('no write was acknowledged after the faults stopped');
    const primary = this.memberById(this.coordinator.view.primary);
    const target = primary.node?.commitSequence ?? 0n;
    for (const member of this.members) {
      if (
        (member.node?.appliedSequence ?? 0n) < target &&
        member.node?.role === 'backup' &&
        this.coordinator.view.inSync.includes(member.id)
      ) {
        throw new Violation(`${member.id} applied ${member.node?.appliedSequence} of ${target} after the quiet phase`);
      }
    }
    const digests = new Map<bigint, string>();
    for (const member of this.members) {
      const node = member.node;
      if (!node) continue;
      const first = digests.get(node.appliedSequence);
      const digest = member.machine.digest();
      if (first === undefined) digests.set(node.appliedSequence, digest);
      else if (first !== digest && this.mode === 'sync') {
        throw new Violation(`${member.id} differs from another member at applied sequence ${node.appliedSequence}`);
      }
    }
    if (this.mode !== 'sync') {
      const epoch = this.coordinator.view.epoch;
      const lostInThisEpoch = this.lostWrites().find((write) => write.ackedInEpoch === epoch);
      if (lostInThisEpoch) {
        throw new Violation(
          `write ${lostInThisEpoch.sequence}, acknowledged in epoch ${epoch} with no failover since, is lost`,
        );
      }
      return;
    }
    const result = checkLinearizability(this.recorder.operations);
    if (result.verdict === 'not-linearizable') {
      const lines = result.failingPrefix.map(
        (op) =>
          `${op.client} ${op.op} ${op.value ?? ''} ${op.expect ?? ''} -> ${String(op.result)} ${op.outcome} [${op.invokedMs.toFixed(1)}, ${op.completedMs?.toFixed(1)}]`,
      );
      throw new Violation(`history not linearizable on key ${result.key}:\n    ${lines.join('\n    ')}`);
    }
  }

  /** Acknowledged writes missing from the final primary's log. */
  private lostWrites(): AckedWrite[] {
    const primary = this.memberById(this.coordinator.view.primary).node;
    if (!primary) return [];
    return this.acked.filter(
      (write) => primary.lastSequence < write.sequence || primary.epochAt(write.sequence) !== write.epoch,
    );
  }
}

// The runner around the pure Paxos core: it turns real time into ticks and
// handles each Ready in the order the core requires (@bulwark/paxos
// ready.ts): proposals that promise nothing go out first; the snapshot and
// committed entries are applied and the proposals they settle answered
// (chosen values need not wait for this member's write); the persist batch
// is written off the event loop; then the messages that depend on it go
// out, and advance() tells the core what is durable and applied. Local
// reads are decided on that applied slot. One Ready is written at a time;
// what arrives meanwhile is gathered into the next one: one fsync and one
// batch per peer for all of it (group commit). Failpoints (paxos.ready.*)
// sit between the steps.
import { performance } from 'node:perf_hooks';
import { DeadlineExceededError, NotLeaderError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import { failpoints } from '@bulwark/failpoints';
import type { Logger } from '@bulwark/logging';
import {
  ballotsEqual,
  bytesEqual,
  type Ballot,
  type Entry,
  type Message,
  type PaxosNode,
  type PersistBatch,
  type Ready,
  type Snapshot,
} from '@bulwark/paxos';
import type { PaxosTraces } from './paxos-traces';

export interface ReplicatedStateMachine<Result> {
  /** Applies one committed entry; must be deterministic. */
  apply(entry: Entry): Result;
  /**
   * Replaces the whole state with a snapshot's; throws, changing nothing,
   * when it cannot (the runner applies before it persists, so a bad
   * snapshot from a peer never reaches the disk).
   */
  restore(snapshot: Snapshot): void;
  /** The state as of the last applied entry. */
  snapshot(): Uint8Array;
}

export interface DurableLog {
  /** Resolves once the batch is on stable storage; calls complete in order. */
  appendAsync(batch: PersistBatch): Promise<void>;
}

export interface MessageSender {
  send(messages: readonly Message[]): void;
}

export interface RunnerOptions<Result> {
  node: PaxosNode;
  storage: DurableLog;
  transport: MessageSender;
  machine: ReplicatedStateMachine<Result>;
  logger: Logger;
  /** Real time per Paxos tick. */
  tickMs: number;
  /** Entries held in the log before it is replaced by a snapshot. */
  compactAfterEntries: number;
  /** How long a proposal may wait to commit before its caller is told the outcome is unknown. */
  proposalTimeoutMs: number;
  /** Where each member serves, for leader hints. */
  addresses: ReadonlyMap<string, string>;
  /**
   * Called when a Ready cannot be made durable or applied. The core has
   * handed it over already, so this member's state can no longer be trusted:
   * the caller must stop the process (it recovers from disk on restart).
   */
  onFatal: (error: unknown) => void;
  /** Monotonic milliseconds; performance.now() unless a test drives time. */
  clockMs?: () => number;
  /** The spans of sampled commands' rounds; none when not given. */
  traces?: PaxosTraces;
}

interface Waiter<Result> {
  command: Uint8Array;
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class PaxosRunner<Result> {
  private readonly waiters = new Map<bigint, Waiter<Result>>();
  private readonly clockMs: () => number;
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private stopped = false;
  /** A Ready's batch is being written; the next Ready waits for it (the core hands out one at a time). */
  private writing = false;
  /** The ballot this member leads with and when (monotonic ms) it saw itself become leader. */
  private leadership: { ballot: Ballot; sinceMs: number } | undefined;

  constructor(private readonly options: RunnerOptions<Result>) {
    this.clockMs = options.clockMs ?? (() => performance.now());
    this.startedAt = this.clockMs();
    // The core's first Ready replays the durable state: apply it now.
    this.process();
  }

  get node(): PaxosNode {
    return this.options.node;
  }

  start(): void {
    this.timer = setInterval(() => this.syncTicks(), Math.max(1, Math.floor(this.options.tickMs / 2)));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const [slot, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new UnavailableError('coordinator stopping; the outcome of the change is unknown'));
      this.waiters.delete(slot);
    }
  }

  /**
   * Brings the core's tick count up to real (monotonic) time. Ticks are
   * counted from elapsed time, not from timer callbacks, so a stalled event
   * loop cannot stretch the lease: the missed ticks are applied first.
   */
  syncTicks(): void {
    if (this.stopped) return;
    const due = Math.floor((this.clockMs() - this.startedAt) / this.options.tickMs);
    let ticked = false;
    while (this.node.tickCount < due) {
      this.node.tick();
      ticked = true;
    }
    if (ticked) this.process();
  }

  receive(message: Message): void {
    if (this.stopped) return;
    this.syncTicks();
    this.options.traces?.received(message);
    this.node.receive(message);
    this.scheduleProcess();
  }

  /** True when this member may answer a linearizable read from its own state. */
  canReadLocally(): boolean {
    // A stopped runner's clock no longer moves the core's: its lease would never end.
    if (this.stopped) return false;
    this.syncTicks();
    return this.node.canReadLocally();
  }

  /**
   * Monotonic time (performance.now() ms) from which this member has led
   * without interruption, or undefined when it does not lead. Taken no
   * earlier than the core's election, so a wait counted from it is never
   * short: a new leader cannot know what its predecessor granted before.
   */
  leaderSinceMs(): number | undefined {
    this.syncTicks();
    this.noteLeadership();
    return this.leadership?.sinceMs;
  }

  private noteLeadership(): void {
    const node = this.node;
    if (node.role !== 'leader') {
      this.leadership = undefined;
      return;
    }
    const ballot = node.promisedBallot;
    if (!this.leadership || !ballotsEqual(this.leadership.ballot, ballot)) {
      this.leadership = { ballot, sinceMs: this.clockMs() };
    }
  }

  /** True when this member leads and has applied everything chosen before it led. */
  hasAppliedBarrier(): boolean {
    return !this.stopped && this.node.hasAppliedBarrier();
  }

  /** A NotLeaderError naming the leader this member knows of. */
  notLeader(): NotLeaderError {
    const leaderId = this.node.leaderId;
    return new NotLeaderError(leaderId, leaderId ? this.options.addresses.get(leaderId) : undefined);
  }

  /** Proposes a command; resolves with its result once committed at its slot. */
  propose(command: Uint8Array): Promise<Result> {
    if (this.stopped) return Promise.reject(new UnavailableError('coordinator stopping'));
    this.syncTicks();
    const outcome = this.node.propose(command);
    if (!outcome.ok) {
      if (outcome.reason === 'window-full') {
        return Promise.reject(new ResourceExhaustedError('acceptWindowSlots', 'too many changes in flight; retry'));
      }
      return Promise.reject(this.notLeader());
    }
    const { slot } = outcome;
    const { traces } = this.options;
    traces?.proposed(slot, this.node.promisedBallot);
    const promise = new Promise<Result>((resolve, reject) => {
      const settle = {
        resolve: (result: Result) => {
          traces?.settled(slot);
          resolve(result);
        },
        reject: (error: Error) => {
          traces?.settled(slot, error);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(slot);
        settle.reject(
          new DeadlineExceededError(
            `not committed within ${this.options.proposalTimeoutMs} ms; the outcome is unknown`,
          ),
        );
      }, this.options.proposalTimeoutMs);
      this.waiters.set(slot, { command, ...settle, timer });
    });
    this.scheduleProcess();
    return promise;
  }

  private scheduleProcess(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.stopped) this.process();
    });
  }

  /** Runs `first` (if any), then the Readys waiting; a failure stops the member. */
  private process(first?: () => void): void {
    try {
      first?.();
      this.processReadys();
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.options.onFatal(error);
  }

  /**
   * Handles Readys until the core has none or one is being written. The
   * write runs off the event loop, so the proposals sent before it travel to
   * the peers while this member's own fdatasync is in flight.
   */
  private processReadys(): void {
    const { node, storage, traces } = this.options;
    while (!this.writing && !this.stopped && node.hasReady()) {
      this.noteLeadership();
      const ready = node.takeReady();
      this.send(ready.sendBeforePersist);
      if (ready.snapshotToApply || ready.committed.length > 0) failpoints.pass('paxos.ready.beforeApply');
      this.apply(ready);
      if (!ready.persist) {
        this.finish(ready);
        continue;
      }
      failpoints.pass('paxos.ready.beforePersist');
      this.writing = true;
      const span = traces?.persisting(ready.persist);
      storage.appendAsync(ready.persist).then(
        () => {
          span?.end();
          this.writing = false;
          if (this.stopped) return;
          failpoints.pass('paxos.ready.beforeSend');
          this.process(() => this.finish(ready));
        },
        (error: unknown) => {
          span?.end();
          this.fail(error);
        },
      );
    }
  }

  /**
   * Applies the Ready's snapshot and committed entries and answers their
   * proposers, without waiting for the Ready's own write: they are chosen,
   * durable on a majority already, and a crash before the write only
   * replays them from the log on restart. The core counts them applied
   * (local reads) only at advance(), after the write.
   */
  private apply(ready: Ready): void {
    const { machine } = this.options;
    if (ready.snapshotToApply) {
      // Before the write: a snapshot that cannot be restored is never persisted.
      machine.restore(ready.snapshotToApply);
      this.settleBelow(ready.snapshotToApply.lastSlot);
    }
    for (const entry of ready.committed) this.settle(entry, machine.apply(entry));
  }

  /** Once the Ready's write is durable: the messages that depend on it, advance(), compaction. */
  private finish(ready: Ready): void {
    const { node, machine } = this.options;
    this.send(ready.messages);
    node.advance();
    // Compact when the log is long and most of it is applied (slots accepted
    // beyond a gap cannot be compacted; a snapshot for nothing is waste).
    const { compactAfterEntries } = this.options;
    if (node.logLength > compactAfterEntries && node.compactableSlots * 2 > compactAfterEntries) {
      // The snapshot's own persist batch is written with the next Ready.
      node.compact(node.appliedSlot, machine.snapshot());
      this.options.logger.debug({ throughSlot: String(node.appliedSlot) }, 'log compacted into a snapshot');
    }
  }

  private send(messages: readonly Message[]): void {
    this.options.traces?.sending(messages);
    this.options.transport.send(messages);
  }

  private settle(entry: Entry, result: Result): void {
    const waiter = this.waiters.get(entry.slot);
    if (!waiter) return;
    this.waiters.delete(entry.slot);
    clearTimeout(waiter.timer);
    if (bytesEqual(waiter.command, entry.command)) waiter.resolve(result);
    else waiter.reject(new UnavailableError('leadership changed before the change committed; it did not take effect'));
  }

  private settleBelow(lastSlot: bigint): void {
    for (const [slot, waiter] of this.waiters) {
      if (slot > lastSlot) continue;
      this.waiters.delete(slot);
      clearTimeout(waiter.timer);
      waiter.reject(new UnavailableError('this member fell behind and installed a snapshot; the outcome is unknown'));
    }
  }
}

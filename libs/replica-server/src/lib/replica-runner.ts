// Runs a replica group member's core against the real world: one Ready at
// a time (libs/replication/src/lib/ready.ts says the order), the group log
// on disk, the state machine in memory, peers over the replication
// transport and the coordinator over its port. Writers wait for their
// entry to apply; readers read the applied state when the core allows.
// Failpoints (replica.ready.*, replica.install.*) sit between the steps.
import { failpoints } from '@bulwark/failpoints';
import type { Logger } from '@bulwark/logging';
import type { ReplicaStorage, SnapshotPoint } from '@bulwark/replica-storage';
import {
  emptySnapshotPoint,
  type CoordinatorRequest,
  type Durability,
  type GroupView,
  type LogEntry,
  type ReplicaNode,
  type Ready,
  type ReplicationMessage,
} from '@bulwark/replication';
import { NotLeaderError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';
import type { WriteTraces } from './write-traces';

/** Lease renewals one member has in flight at once (see callCoordinator). */
const renewalsInFlightMax = 2;
/**
 * A tick later than its timer by more than this is time the process did not
 * run. Well above the event loop's own lag under load: each pause forgiven
 * puts off dropping a backup that really is gone by as much.
 */
export const pauseToleranceMs = 100;

/** The state machine the log is applied to (KvMachine in production, a model in tests). */
export interface AppliedState<Outcome> {
  readonly appliedSequence: bigint;
  apply(entry: LogEntry): Outcome;
  /** Back to empty: a truncation went below what was applied. */
  reset(): void;
  /** A consistent copy's chunks, taken now, for a snapshot at appliedSequence. */
  snapshotChunks(): Iterable<Uint8Array>;
  /** Replaces the state with a snapshot's (its lastSequence becomes appliedSequence). */
  restore(chunks: readonly Uint8Array[], lastSequence: bigint): void;
}

/** What the runner needs of the coordinator; the replica's coordinator link implements it. */
export interface CoordinatorPort {
  /** RenewPrimaryLease; resolves with the lease granted, undefined when refused. */
  renewLease(epoch: bigint): Promise<number | undefined>;
  /** UpdateInSyncSet under requestId; resolves with the group as the coordinator then has it (undefined when refused). */
  updateInSync(epoch: bigint, inSync: readonly string[], requestId: string): Promise<GroupView | undefined>;
}

/** Fetches the primary's snapshot; the transport implements it over FetchSnapshot. */
export type SnapshotFetcher = (
  from: string,
  epoch: bigint,
) => Promise<{ point: SnapshotPoint; chunks: AsyncIterable<Uint8Array> }>;

export interface ReplicaRunnerOptions<Outcome> {
  node: ReplicaNode;
  storage: ReplicaStorage;
  state: AppliedState<Outcome>;
  send: (messages: readonly ReplicationMessage[]) => void;
  coordinator: CoordinatorPort;
  fetchSnapshot: SnapshotFetcher;
  logger: Logger;
  /** The monotonic clock leases are counted on. */
  clockMs: () => number;
  tickMs: number;
  /**
   * Entries applied past the last snapshot before the next one; each member
   * adds up to half as much again, at random, so the members of a group do
   * not all snapshot at once.
   */
  snapshotEveryEntries: number;
  /** Entries kept in the log before a snapshot's end, so a backup a little behind needs no snapshot. */
  snapshotKeepEntries: number;
  /** Writes waiting for their entry to apply (bounded: above it writes are refused, retryably). */
  waitingWritesMax: number;
  /** Where a member serves, for not-primary hints (from the coordinator's members table). */
  addressOf: (memberId: string) => string | undefined;
  /** Disk or apply failed: the process must stop and recover from disk. */
  onFatal: (error: unknown) => void;
  /** The spans of sampled writes; none when not given. */
  traces?: WriteTraces<Outcome>;
}

export interface WriteResult<Outcome> {
  readonly sequence: bigint;
  readonly epoch: bigint;
  readonly outcome: Outcome;
}

interface Waiter<Outcome> {
  resolve(result: WriteResult<Outcome>): void;
  reject(error: Error): void;
  readonly epoch: bigint;
}

function outcomeUnknown(reason: string): UnavailableError {
  return new UnavailableError(`the write's outcome is unknown: ${reason}; retry it with the same request_id`);
}

export class ReplicaRunner<Outcome> {
  private readonly waiters = new Map<bigint, Waiter<Outcome>>();
  private readyInFlight = false;
  /** A fetched snapshot is being installed: no Ready may run meanwhile. */
  private installing = false;
  /** Work that must run between Readies (installing a snapshot), in arrival order. */
  private readonly betweenReadies: Array<() => void> = [];
  private savingSnapshot = false;
  private renewalsInFlight = 0;
  /** The epoch of a renewal the core asked for while renewalsInFlightMax were in flight. */
  private renewalWaiting: bigint | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  /** The clock at the core's last tick, from start() on, whose timer ticks every tickMs. */
  private lastTickAtMs: number | undefined;

  private readonly snapshotEvery: bigint;

  constructor(private readonly options: ReplicaRunnerOptions<Outcome>) {
    this.snapshotEvery = BigInt(Math.round(options.snapshotEveryEntries * (1 + Math.random() / 2)));
  }

  get node(): ReplicaNode {
    return this.options.node;
  }

  get state(): AppliedState<Outcome> {
    return this.options.state;
  }

  start(): void {
    this.lastTickAtMs = this.options.clockMs();
    const tick = () => {
      if (this.stopped) return;
      const nowMs = this.tickNode();
      this.options.traces?.expire(nowMs);
      this.pump();
      this.timer = setTimeout(tick, this.options.tickMs);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const waiter of this.waiters.values()) waiter.reject(outcomeUnknown('the member is stopping'));
    this.waiters.clear();
  }

  // ---- Inputs ----

  deliver(message: ReplicationMessage): void {
    // Only this epoch's: an older primary's backups acknowledged another log.
    if (message.type === 'ack' && message.epoch === this.options.node.epoch) {
      this.options.traces?.acknowledged(message.from, message.durableSequence);
    }
    this.input((node) => node.step(message));
  }

  observeView(view: GroupView): void {
    this.input((node) => node.observeView(view));
  }

  /** Proposes an encoded command (fenced: it carries a fence); resolves once applied here, with its outcome. */
  write(command: Uint8Array, durability: Durability | undefined, fenced = false): Promise<WriteResult<Outcome>> {
    const node = this.options.node;
    this.tickNode();
    if (this.waiters.size >= this.options.waitingWritesMax) {
      return Promise.reject(
        new ResourceExhaustedError('waitingWritesMax', `${this.waiters.size} writes are waiting already; retry later`),
      );
    }
    const result = node.propose(command, this.durabilityWithPlantedBug(durability));
    if (!result.ok) {
      switch (result.reason) {
        case 'not-primary':
          return Promise.reject(this.notPrimary(result.primary));
        case 'starting':
          return Promise.reject(new UnavailableError(`this member is starting epoch ${node.epoch} as primary`));
        case 'no-lease':
          return Promise.reject(new UnavailableError(`this primary holds no lease at epoch ${node.epoch} right now`));
        case 'backlog-full':
          return Promise.reject(
            new ResourceExhaustedError('uncommittedEntriesMax', 'too many writes are not committed yet; retry later'),
          );
      }
    }
    const { traces } = this.options;
    traces?.proposed(result.sequence, fenced);
    const promise = new Promise<WriteResult<Outcome>>((resolve, reject) => {
      if (!traces) {
        this.waiters.set(result.sequence, { resolve, reject, epoch: result.epoch });
        return;
      }
      this.waiters.set(result.sequence, {
        resolve: (written) => {
          traces.settled(result.sequence);
          resolve(written);
        },
        reject: (error) => {
          traces.settled(result.sequence, error);
          reject(error);
        },
        epoch: result.epoch,
      });
    });
    this.schedulePump();
    return promise;
  }

  /**
   * The planted bug replica.acknowledgeBeforeReplicated: while it is on, a
   * sync write is proposed as async, so the core commits it on this
   * primary's own fsync under its lease (PrimaryRole.recomputeCommit's
   * async rule) and it is answered without waiting for the in-sync backups:
   * a failover may lose it. Off, `durability` as asked. A write that is
   * async anyway is left alone, so the point's count and chance go to sync
   * writes only.
   */
  private durabilityWithPlantedBug(durability: Durability | undefined): Durability | undefined {
    const sync = (durability ?? this.options.node.view?.mode ?? 'sync') === 'sync';
    return sync && failpoints.isOn('replica.acknowledgeBeforeReplicated') ? 'async' : durability;
  }

  /** A backup's answer to a write or STRONG read: the primary it knows, as the client's hint. */
  notPrimary(primary: string): NotLeaderError {
    if (primary === '') return new NotLeaderError();
    return new NotLeaderError(primary, this.options.addressOf(primary));
  }

  // ---- The Ready loop ----

  /**
   * Ticks the core with the clock now, first telling it of a pause: the
   * timer ticks every tickMs, so a gap well past that is time this process
   * did not run. Returns the clock.
   */
  private tickNode(): number {
    const nowMs = this.options.clockMs();
    if (this.lastTickAtMs !== undefined) {
      const pausedMs = nowMs - this.lastTickAtMs - this.options.tickMs;
      if (pausedMs > pauseToleranceMs) this.options.node.resumedAfterPause(pausedMs);
      this.lastTickAtMs = nowMs;
    }
    this.options.node.tick(nowMs);
    return nowMs;
  }

  private input(event: (node: ReplicaNode) => void): void {
    if (this.stopped) return;
    const node = this.options.node;
    this.tickNode();
    const before = { role: node.role, epoch: node.epoch };
    event(node);
    if (node.role !== before.role || node.epoch !== before.epoch) {
      this.options.traces?.reset();
      this.options.logger.info(
        { role: node.role, epoch: String(node.epoch), primary: node.primary, last: String(node.lastSequence) },
        'role or epoch changed',
      );
    }
    this.schedulePump();
  }

  /** Coalesces the inputs of one event-loop turn into one Ready (group commit). */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    // Renewals and in-sync changes go out at once, never behind a write in flight.
    for (const request of this.options.node.takeCoordinatorRequests()) this.callCoordinator(request);
    if (this.readyInFlight || this.installing) return;
    const exclusive = this.betweenReadies.shift();
    if (exclusive) {
      exclusive();
      return;
    }
    const node = this.options.node;
    if (!node.hasReady()) {
      this.maybeSnapshot();
      return;
    }
    this.readyInFlight = true;
    this.handle(node.takeReady()).then(
      () => {
        this.readyInFlight = false;
        node.advance();
        this.pump();
      },
      (error: unknown) => {
        this.stopped = true;
        this.options.onFatal(error);
      },
    );
  }

  private async handle(ready: Ready): Promise<void> {
    const { node, state, storage, traces } = this.options;
    if (ready.discardState) {
      this.options.logger.warn(
        { epoch: node.epoch },
        'discarding applied state: a failover lost writes it had applied',
      );
      state.reset();
      await storage.saveSnapshot(emptySnapshotPoint, [], { keepEntriesFrom: 'none' });
    }
    this.options.send(ready.sendBeforePersist);
    if (ready.committed.length > 0) failpoints.pass('replica.ready.beforeApply');
    const nowMs = this.options.clockMs();
    for (const entry of ready.committed) {
      const outcome = traces ? traces.applying(entry.sequence, () => state.apply(entry)) : state.apply(entry);
      const waiter = this.waiters.get(entry.sequence);
      if (!waiter) continue;
      this.waiters.delete(entry.sequence);
      if (node.mayAcknowledge(entry.sequence, nowMs)) {
        waiter.resolve({ sequence: entry.sequence, epoch: waiter.epoch, outcome });
      } else waiter.reject(outcomeUnknown('the primary lost its lease before it could answer'));
    }
    if (ready.abandonedFrom !== undefined) {
      for (const [sequence, waiter] of this.waiters) {
        if (sequence < ready.abandonedFrom) continue;
        this.waiters.delete(sequence);
        waiter.reject(outcomeUnknown(`this member stopped being primary (epoch ${node.epoch})`));
      }
    }
    if (ready.persist) {
      failpoints.pass('replica.ready.beforePersist');
      const span = traces?.persisting(ready.persist.entries);
      try {
        await storage.appendAsync(ready.persist);
      } finally {
        span?.end();
      }
      failpoints.pass('replica.ready.beforeSend');
    }
    this.options.send(ready.messages);
    if (ready.fetchSnapshot) void this.installSnapshot(ready.fetchSnapshot.from, ready.fetchSnapshot.epoch);
  }

  /**
   * The core asks a third of the way into each lease: the next renewal goes
   * out even while one whose answer was lost still waits for its deadline,
   * or the lease would lapse. Two at most: more would only add Paxos rounds
   * to a coordinator already slow to answer. One asked for while two are in
   * flight goes out as soon as either ends (the core counts it as sent).
   */
  private renewLease(epoch: bigint): void {
    if (this.renewalsInFlight >= renewalsInFlightMax) {
      this.renewalWaiting = epoch;
      return;
    }
    const { coordinator, logger } = this.options;
    this.renewalsInFlight++;
    // The lease counts from before the request left (README, "Primary leases and failover").
    const sentAtMs = this.options.clockMs();
    coordinator
      .renewLease(epoch)
      .then(
        (leaseMs) => {
          if (leaseMs !== undefined) this.input((node) => node.leaseGranted(epoch, sentAtMs, leaseMs));
        },
        (error: unknown) => logger.debug({ err: error, epoch }, 'lease renewal failed'),
      )
      .finally(() => {
        this.renewalsInFlight--;
        const waiting = this.renewalWaiting;
        this.renewalWaiting = undefined;
        if (waiting !== undefined && !this.stopped && waiting === this.options.node.epoch) this.renewLease(waiting);
      });
  }

  private callCoordinator(request: CoordinatorRequest): void {
    const { coordinator, logger } = this.options;
    if (request.type === 'renewLease') {
      this.renewLease(request.epoch);
      return;
    }
    logger.info(
      { epoch: String(request.epoch), inSync: request.inSync },
      'asking the coordinators to change the in-sync set',
    );
    coordinator.updateInSync(request.epoch, request.inSync, request.requestId).then(
      (view) => {
        if (view) this.observeView(view);
      },
      (error: unknown) => logger.debug({ err: error, inSync: request.inSync }, 'in-sync set update failed'),
    );
  }

  // ---- Snapshots ----

  private maybeSnapshot(): void {
    const { node, state, storage, snapshotKeepEntries } = this.options;
    if (this.savingSnapshot || state.appliedSequence !== node.appliedSequence) return;
    if (node.appliedSequence - node.logSnapshot.lastSequence < this.snapshotEvery) return;
    const point = node.snapshotPoint();
    const keep = BigInt(snapshotKeepEntries);
    const keepFrom = point.lastSequence > keep ? point.lastSequence - keep + 1n : 1n;
    // The chunks come from a copy taken now; Readies go on while they are written.
    const chunks = state.snapshotChunks();
    this.savingSnapshot = true;
    storage.saveSnapshot(point, chunks, { keepEntriesFrom: keepFrom }).then(
      () => {
        this.savingSnapshot = false;
        // A discard in the meantime started the log over; this snapshot no longer describes it.
        if (node.appliedSequence >= point.lastSequence && node.logSnapshot.lastSequence < point.lastSequence) {
          node.compacted(point, keepFrom);
        }
        this.schedulePump();
      },
      (error: unknown) => {
        this.stopped = true;
        this.options.onFatal(error);
      },
    );
  }

  private async installSnapshot(from: string, epoch: bigint): Promise<void> {
    const { node, state, storage, logger } = this.options;
    try {
      const fetched = await this.options.fetchSnapshot(from, epoch);
      const chunks: Uint8Array[] = [];
      for await (const chunk of fetched.chunks) chunks.push(chunk);
      await this.betweenTwoReadies();
      if (!node.acceptsSnapshot(fetched.point)) {
        node.snapshotFetchFailed();
        return;
      }
      failpoints.pass('replica.install.beforeSave');
      await storage.saveSnapshot(fetched.point, chunks, { keepEntriesFrom: 'none' });
      failpoints.pass('replica.install.beforeRestore');
      state.restore(chunks, fetched.point.lastSequence);
      node.snapshotInstalled(fetched.point);
      logger.info({ from, lastSequence: fetched.point.lastSequence }, 'installed the primary snapshot');
    } catch (error) {
      logger.warn({ err: error, from }, 'fetching the primary snapshot failed');
      node.snapshotFetchFailed();
    } finally {
      this.installing = false;
      this.schedulePump();
    }
  }

  /** Resolves when no Ready is in flight, and holds the next one back until `installing` is cleared. */
  private betweenTwoReadies(): Promise<void> {
    return new Promise((resolve) => {
      this.betweenReadies.push(() => {
        this.installing = true;
        resolve();
      });
      this.schedulePump();
    });
  }
}

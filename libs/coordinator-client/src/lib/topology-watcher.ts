// Keeps a router's or replica's copy of the coordinators' topology by
// following WatchTopology, which any coordinator serves from what it has
// applied. The first stream starts at revision 0 (a snapshot, then events);
// after a break the next one resumes at the revision after the last one
// applied, on the next member in turn, with a capped backoff. The copy
// never moves back: a snapshot or event at or below the revision already
// applied (a member that is behind) is ignored, and a stream that would
// leave a gap (or carries a change this client does not know) is dropped
// for a fresh snapshot. Every message is applied as it arrives, so nothing
// is buffered beyond the message being applied.
import { Metadata, type ClientReadableStream } from '@grpc/grpc-js';
import type { coordinatorV1 } from '@bulwark/contracts';
import { CancelledError, DeadlineExceededError, ResourceExhaustedError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import { backoffCeilingMs, type RetryPolicy } from '@bulwark/rpc';
import { applyTopologyEvents, frozenTopology } from './apply-topology-events';
import { CoordinatorClients } from './coordinator-clients';

/** The topology and the revision it reflects (the same as topology.revision). */
export interface TopologyState {
  readonly revision: bigint;
  /** Frozen: hold it as long as you like, never change it. */
  readonly topology: coordinatorV1.Topology;
}

export type TopologyListener = (topology: coordinatorV1.Topology) => void;

/** onChange listeners one watcher holds. */
export const topologyListenersMax = 256;
/** waitFor calls pending at once on one watcher. */
export const topologyWaitersMax = 1_024;
/** setTimeout's longest delay; a longer one would fire at once. */
const timerMsMax = 2 ** 31 - 1;
/** Failures in a row the backoff counts; the cap is reached long before. */
const failuresCountedMax = 32;

export interface TopologyWatcherOptions {
  /** host:port of every coordinator, at least one. */
  coordinators: readonly string[];
  logger: Logger;
  /** Reconnect backoff, doubling from the first to the cap (20 ms .. 1 s by default), with jitter. */
  reconnectBackoffMsMin?: number;
  reconnectBackoffMsMax?: number;
  /** Uniform in [0, 1); Math.random unless a test fixes it. */
  random?: () => number;
}

/** One WatchTopology stream; late messages of a stream that was replaced are dropped. */
interface Session {
  readonly address: string;
  readonly stream: ClientReadableStream<coordinatorV1.WatchTopologyResponse>;
  ended: boolean;
  delivered: boolean;
}

interface Waiter {
  readonly predicate: (topology: coordinatorV1.Topology) => boolean;
  readonly resolve: (topology: coordinatorV1.Topology) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

export class TopologyWatcher {
  private readonly clients: CoordinatorClients;
  private readonly logger: Logger;
  private readonly backoff: RetryPolicy;
  private readonly random: () => number;
  private state: TopologyState | undefined;
  private groupsById: Map<string, coordinatorV1.ReplicaGroup> | undefined;
  /** The stream whose events brought the state to its revision: only it may add more events of that revision. */
  private appliedBy: Session | undefined;
  private session: Session | undefined;
  /** Which member the next stream opens at. */
  private cursor = 0;
  /** Streams in a row that ended before delivering anything: the backoff's exponent. */
  private failures = 0;
  /** Set when the state cannot be continued by events: the next stream asks for a snapshot. */
  private needSnapshot = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  private readonly listeners = new Set<TopologyListener>();
  private readonly waiters = new Set<Waiter>();

  constructor(options: TopologyWatcherOptions) {
    this.clients = new CoordinatorClients(options.coordinators);
    this.logger = options.logger;
    const initialBackoffMs = options.reconnectBackoffMsMin ?? 20;
    const backoffMsMax = options.reconnectBackoffMsMax ?? 1_000;
    if (!(initialBackoffMs > 0 && backoffMsMax >= initialBackoffMs)) {
      throw new RangeError(`reconnect backoff must satisfy 0 < min <= max, got ${initialBackoffMs} .. ${backoffMsMax}`);
    }
    this.backoff = { attemptsMax: Number.MAX_SAFE_INTEGER, initialBackoffMs, backoffMsMax, multiplier: 2 };
    this.random = options.random ?? Math.random;
  }

  /** Opens the first stream; idempotent. */
  start(): void {
    if (this.closed) throw new Error('TopologyWatcher was closed');
    if (this.started) return;
    this.started = true;
    this.connect();
  }

  /** The latest topology applied, or undefined before the first snapshot. */
  current(): TopologyState | undefined {
    return this.state;
  }

  /** A group of the latest topology. */
  group(id: string): coordinatorV1.ReplicaGroup | undefined {
    if (!this.state) return undefined;
    this.groupsById ??= new Map(this.state.topology.groups.map((group) => [group.id, group]));
    return this.groupsById.get(id);
  }

  /**
   * Calls listener after every applied snapshot or batch of events, with
   * the new topology; returns the function that removes it. A listener
   * that throws is logged and the others still run.
   */
  onChange(listener: TopologyListener): () => void {
    if (this.listeners.size >= topologyListenersMax) {
      throw new ResourceExhaustedError('topologyListenersMax', `a watcher holds at most ${topologyListenersMax}`);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the first topology (the current one, or one applied
   * later) that satisfies predicate; rejects with DeadlineExceededError
   * when none does within deadlineMs, with what predicate throws, and with
   * CancelledError when the watcher closes first.
   */
  waitFor(
    predicate: (topology: coordinatorV1.Topology) => boolean,
    deadlineMs: number,
  ): Promise<coordinatorV1.Topology> {
    if (this.closed) return Promise.reject(new CancelledError('topology watcher closed'));
    try {
      if (this.state && predicate(this.state.topology)) return Promise.resolve(this.state.topology);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.waiters.size >= topologyWaitersMax) {
      return Promise.reject(
        new ResourceExhaustedError('topologyWaitersMax', `at most ${topologyWaitersMax} waitFor calls may be pending`),
      );
    }
    return new Promise<coordinatorV1.Topology>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(
          () => {
            this.waiters.delete(waiter);
            const at = this.state ? `revision ${this.state.revision}` : 'no topology yet';
            reject(
              new DeadlineExceededError(`topology did not reach the awaited state within ${deadlineMs} ms (${at})`),
            );
          },
          Math.min(deadlineMs, timerMsMax),
        ),
      };
      this.waiters.add(waiter);
    });
  }

  /** Ends the stream and the reconnects; pending waitFor calls reject with CancelledError. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.endSession();
    this.clients.close();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new CancelledError('topology watcher closed'));
    }
    this.waiters.clear();
    this.listeners.clear();
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.closed) return;
    const { addresses } = this.clients;
    const address = addresses[this.cursor % addresses.length] as string;
    const startRevision = this.state && !this.needSnapshot ? this.state.revision + 1n : 0n;
    // Fail fast on a member that cannot be reached, so the next one is tried after the backoff.
    const stream = this.clients.get(address).watchTopology({ startRevision }, new Metadata());
    const session: Session = { address, stream, ended: false, delivered: false };
    this.session = session;
    this.logger.debug({ address, startRevision: String(startRevision) }, 'watching topology');
    stream.on('data', (response: coordinatorV1.WatchTopologyResponse) => this.receive(session, response));
    // 'status' comes at the end of every call, OK or not; 'error' must be listened to but adds nothing.
    stream.on('error', () => undefined);
    stream.on('status', (status: { code: number; details: string }) => this.streamEnded(session, status));
  }

  private receive(session: Session, response: coordinatorV1.WatchTopologyResponse): void {
    if (session.ended || this.closed) return;
    let topology = this.state?.topology;
    let fromSession = this.appliedBy === session;
    const snapshot = response.snapshot;
    if (snapshot && (!topology || snapshot.revision > topology.revision)) {
      topology = frozenTopology(snapshot);
      fromSession = true;
      this.needSnapshot = false;
    }
    if (!topology) {
      this.logger.warn({ address: session.address }, 'topology events before any snapshot; starting over');
      return this.restart(true);
    }
    const known = topology.revision;
    // Older than the state (a member that is behind, or a resumed stream's overlap): already applied.
    const fresh = response.events.filter(
      (event) => event.revision > known || (event.revision === known && fromSession),
    );
    try {
      topology = applyTopologyEvents(topology, fresh);
    } catch (error) {
      this.logger.error(
        { err: error, address: session.address, revision: String(known) },
        'topology events cannot be applied; starting over from a snapshot',
      );
      return this.restart(true);
    }
    session.delivered = true;
    this.failures = 0;
    // Events that continue the state prove it whole again: a later stream may resume from it.
    if (fresh.length > 0) this.needSnapshot = false;
    if (topology !== this.state?.topology) this.publish(topology, session);
  }

  private publish(topology: coordinatorV1.Topology, session: Session): void {
    this.state = Object.freeze({ revision: topology.revision, topology });
    this.groupsById = undefined;
    this.appliedBy = session;
    for (const listener of [...this.listeners]) {
      try {
        listener(topology);
      } catch (error) {
        this.logger.error({ err: error, revision: String(topology.revision) }, 'topology listener failed');
      }
    }
    for (const waiter of [...this.waiters]) {
      let satisfied: boolean;
      try {
        satisfied = waiter.predicate(topology);
      } catch (error) {
        this.settle(waiter);
        waiter.reject(error);
        continue;
      }
      if (satisfied) {
        this.settle(waiter);
        waiter.resolve(topology);
      }
    }
  }

  private settle(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
  }

  private streamEnded(session: Session, status: { code: number; details: string }): void {
    if (session.ended || this.closed) return;
    session.ended = true;
    this.logger.info(
      { address: session.address, code: status.code, details: status.details },
      'topology stream ended; resuming on the next coordinator',
    );
    this.scheduleReconnect(!session.delivered);
  }

  /** Drops a stream whose messages cannot be applied and opens another, from a snapshot if asked. */
  private restart(needSnapshot: boolean): void {
    this.needSnapshot = needSnapshot;
    this.endSession();
    this.scheduleReconnect(true);
  }

  private endSession(): void {
    const session = this.session;
    if (!session || session.ended) return;
    session.ended = true;
    session.stream.cancel();
  }

  /** Opens the next stream at the next member, after a backoff that grows while streams fail. */
  private scheduleReconnect(failed: boolean): void {
    if (this.closed || this.reconnectTimer) return;
    this.cursor++;
    if (failed) this.failures = Math.min(this.failures + 1, failuresCountedMax);
    const ceilingMs = backoffCeilingMs(this.backoff, this.failures + 1);
    const delayMs = Math.max(this.backoff.initialBackoffMs, Math.floor(ceilingMs * (0.5 + 0.5 * this.random())));
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }
}

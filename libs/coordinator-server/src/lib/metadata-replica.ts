// The coordinator's replicated state machine as the Paxos runner sees it:
// committed entries are decoded and applied to the metadata core, snapshots
// replace its state, and watchers hear every change as it is applied. The
// runner calls apply synchronously as it applies each committed entry, so
// the time it notes for a lease grant is when this member applied it.
import type { Entry, Snapshot } from '@bulwark/paxos';
import type { coordinatorV1 } from '@bulwark/contracts';
import { ResourceExhaustedError } from '@bulwark/errors';
import {
  estimatedBytes,
  MetadataStateMachine,
  type Answer,
  type Topology,
  type TopologyEvent,
} from '@bulwark/metadata';
import type { ReplicatedStateMachine } from './paxos-runner';
import { decodeEntry } from './command-codec';
import { LeaseGrants } from './lease-grants';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec';
import { eventToProto, topologyToProto } from './topology-codec';

/**
 * One applied change as watchers send it, encoded once for all of them:
 * the events of one command (all at one revision), or the whole topology
 * after a snapshot replaced it; with its estimated bytes.
 */
export type TopologyUpdate =
  | {
      readonly type: 'events';
      readonly revision: bigint;
      readonly events: readonly coordinatorV1.TopologyEvent[];
      readonly bytes: number;
    }
  | {
      readonly type: 'reset';
      readonly revision: bigint;
      readonly topology: coordinatorV1.Topology;
      readonly bytes: number;
    };

export type TopologyListener = (update: TopologyUpdate) => void;

/** The events of applied commands as watchers send them (one command's or several's, in order). */
export function eventsUpdate(events: readonly TopologyEvent[]): TopologyUpdate {
  return {
    type: 'events',
    revision: events.at(-1)?.revision ?? 0n,
    events: events.map(eventToProto),
    bytes: estimatedBytes(events),
  };
}

/** The whole topology as watchers send it. */
export function resetUpdate(topology: Topology): TopologyUpdate {
  return {
    type: 'reset',
    revision: topology.revision,
    topology: topologyToProto(topology),
    bytes: estimatedBytes(topology),
  };
}

/** Concurrent watchers, each a WatchTopology stream. */
export const topologyListenersMax = 4_096;
/** Calls waiting for a state to be applied (Failover waiting for a handover's epoch). */
export const appliedWaitersMax = 1_024;

export class MetadataReplica implements ReplicatedStateMachine<Answer> {
  readonly machine = new MetadataStateMachine();
  /** When this member applied each group's last lease grant; see LeaseGrants. */
  readonly leaseGrants: LeaseGrants;
  private readonly listeners = new Set<TopologyListener>();
  /** Each checks its condition after every applied change; at most appliedWaitersMax. */
  private readonly appliedWaiters = new Set<() => void>();

  /** @param monotonicNowMs the clock lease grants are timed with: the runner's, so they compare with leaderSinceMs. */
  constructor(monotonicNowMs: () => number) {
    this.leaseGrants = new LeaseGrants(monotonicNowMs);
  }

  apply(entry: Entry): Answer {
    const { command, request } = decodeEntry(entry.command);
    const answer = this.machine.apply(command, request);
    if (answer.events.length > 0) {
      this.leaseGrants.noteEvents(answer.events);
      this.notify(() => eventsUpdate(answer.events));
      this.wakeWaiters();
    }
    return answer;
  }

  /**
   * Replaces the state with a peer's (or the recovered) snapshot. A snapshot
   * that cannot be decoded or breaks an invariant changes nothing and
   * throws, naming its slot; the runner then stops before persisting it.
   */
  restore(snapshot: Snapshot): void {
    try {
      const { topology, requests } = decodeSnapshot(snapshot.data);
      this.machine.installSnapshot(topology, requests);
    } catch (error) {
      throw new Error(`snapshot at slot ${snapshot.lastSlot} is invalid: ${(error as Error).message}`);
    }
    this.leaseGrants.noteSnapshot(this.machine.topology.groups);
    this.notify(() => resetUpdate(this.machine.topology));
    this.wakeWaiters();
  }

  /**
   * Resolves with true as soon as `holds()` is true of the applied state
   * (checked now and after every applied change), or with false after
   * `timeoutMs` or when `signal` aborts. At most appliedWaitersMax wait at
   * once; one more is refused as RESOURCE_EXHAUSTED.
   */
  whenApplied(holds: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (holds()) return Promise.resolve(true);
    if (signal?.aborted || timeoutMs <= 0) return Promise.resolve(false);
    if (this.appliedWaiters.size >= appliedWaitersMax) {
      return Promise.reject(new ResourceExhaustedError('appliedWaitersMax', `${appliedWaitersMax} calls wait already`));
    }
    return new Promise<boolean>((resolve) => {
      const finish = (outcome: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        this.appliedWaiters.delete(check);
        resolve(outcome);
      };
      const check = () => {
        if (holds()) finish(true);
      };
      const abort = () => finish(false);
      const timer = setTimeout(abort, timeoutMs);
      signal?.addEventListener('abort', abort);
      this.appliedWaiters.add(check);
    });
  }

  private wakeWaiters(): void {
    if (this.appliedWaiters.size === 0) return;
    // A waiter removes itself when it finishes: iterate over a copy.
    for (const check of [...this.appliedWaiters]) check();
  }

  /** Hands every watcher the same update, built only when someone watches. */
  private notify(build: () => TopologyUpdate): void {
    if (this.listeners.size === 0) return;
    const update = build();
    for (const listener of this.listeners) listener(update);
  }

  snapshot(): Uint8Array {
    return encodeSnapshot({ topology: this.machine.topology, requests: this.machine.rememberedRequests });
  }

  /** Returns false when the bound on watchers is reached. */
  subscribe(listener: TopologyListener): boolean {
    if (this.listeners.size >= topologyListenersMax) return false;
    this.listeners.add(listener);
    return true;
  }

  unsubscribe(listener: TopologyListener): void {
    this.listeners.delete(listener);
  }
}

// The coordinator's replicated state machine as the Paxos runner sees it:
// committed entries are decoded and applied to the metadata core, snapshots
// replace its topology, and watchers hear every change as it is applied.
import type { Entry, Snapshot } from '@bulwark/paxos';
import {
  MetadataStateMachine,
  topologyViolations,
  type Applied,
  type Topology,
  type TopologyEvent,
} from '@bulwark/metadata';
import type { ReplicatedStateMachine } from './paxos-runner';
import { decodeCommand, decodeSnapshot, encodeSnapshot } from './command-codec';

export type TopologyListener = (change: { events: readonly TopologyEvent[] } | { reset: Topology }) => void;

/** Concurrent watchers, each a WatchTopology stream. */
export const topologyListenersMax = 4_096;

export class MetadataReplica implements ReplicatedStateMachine<Applied> {
  readonly machine = new MetadataStateMachine();
  private readonly listeners = new Set<TopologyListener>();

  apply(entry: Entry): Applied {
    const applied = this.machine.apply(decodeCommand(entry.command));
    if (applied.events.length > 0) for (const listener of this.listeners) listener({ events: applied.events });
    return applied;
  }

  restore(snapshot: Snapshot): void {
    this.machine.installSnapshot(decodeSnapshot(snapshot.data));
    for (const listener of this.listeners) listener({ reset: this.machine.topology });
  }

  checkSnapshot(snapshot: Snapshot): void {
    const violations = topologyViolations(decodeSnapshot(snapshot.data));
    if (violations.length > 0) throw new Error(`snapshot at slot ${snapshot.lastSlot} is invalid: ${violations[0]}`);
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.machine.topology);
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

// The coordinator's replicated state machine as the Paxos runner sees it:
// committed entries are decoded and applied to the metadata core, snapshots
// replace its state, and watchers hear every change as it is applied. The
// runner calls apply synchronously as it applies each committed entry, so
// the time it notes for a lease grant is when this member applied it.
import type { Entry, Snapshot } from '@bulwark/paxos';
import { MetadataStateMachine, type Answer, type Topology, type TopologyEvent } from '@bulwark/metadata';
import type { ReplicatedStateMachine } from './paxos-runner';
import { decodeEntry } from './command-codec';
import { LeaseGrants } from './lease-grants';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec';

export type TopologyListener = (change: { events: readonly TopologyEvent[] } | { reset: Topology }) => void;

/** Concurrent watchers, each a WatchTopology stream. */
export const topologyListenersMax = 4_096;

export class MetadataReplica implements ReplicatedStateMachine<Answer> {
  readonly machine = new MetadataStateMachine();
  /** When this member applied each group's last lease grant; see LeaseGrants. */
  readonly leaseGrants: LeaseGrants;
  private readonly listeners = new Set<TopologyListener>();

  /** @param monotonicNowMs the clock lease grants are timed with: the runner's, so they compare with leaderSinceMs. */
  constructor(monotonicNowMs: () => number) {
    this.leaseGrants = new LeaseGrants(monotonicNowMs);
  }

  apply(entry: Entry): Answer {
    const { command, request } = decodeEntry(entry.command);
    const answer = this.machine.apply(command, request);
    if (answer.events.length > 0) {
      this.leaseGrants.noteEvents(answer.events);
      for (const listener of this.listeners) listener({ events: answer.events });
    }
    return answer;
  }

  restore(snapshot: Snapshot): void {
    const { topology, requests } = decodeSnapshot(snapshot.data);
    this.machine.installSnapshot(topology, requests);
    this.leaseGrants.noteSnapshot(this.machine.topology.groups);
    for (const listener of this.listeners) listener({ reset: this.machine.topology });
  }

  checkSnapshot(snapshot: Snapshot): void {
    try {
      const { topology, requests } = decodeSnapshot(snapshot.data);
      // A scratch machine checks the topology's invariants and the request table alike.
      new MetadataStateMachine().installSnapshot(topology, requests);
    } catch (error) {
      throw new Error(`snapshot at slot ${snapshot.lastSlot} is invalid: ${(error as Error).message}`);
    }
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

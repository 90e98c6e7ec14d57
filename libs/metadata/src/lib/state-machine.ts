// What the coordinator's runner holds: the current topology and the event
// history WatchTopology resumes from. The runner feeds it the commands Paxos
// commits, in slot order, and the snapshots Paxos installs.
import { InternalError } from '@bulwark/errors';
import { apply } from './apply';
import type { Applied, MetadataCommand } from './commands';
import { EventHistory, type EventsSince } from './event-history';
import { topologyViolations } from './invariants';
import { eventHistoryMax } from './limits';
import { emptyTopology, frozenTopology } from './topology';
import type { Topology } from './types';

/** Violations quoted in an error; the rest are counted. */
const violationsQuotedMax = 5;

export class MetadataStateMachine {
  private current: Topology;
  private history: EventHistory;

  /**
   * @param topology where to start: the empty topology, or the snapshot a restarted coordinator recovered.
   * @param historyEventsMax how many events to keep for WatchTopology resumption.
   */
  constructor(
    topology: Topology = emptyTopology,
    private readonly historyEventsMax = eventHistoryMax,
  ) {
    this.current = soundCopy(topology);
    this.history = new EventHistory(this.current.revision, historyEventsMax);
  }

  get topology(): Topology {
    return this.current;
  }

  /** Applies the next committed command; see apply(). */
  apply<C extends MetadataCommand>(command: C): Applied<C['type']> {
    const applied = apply(this.current, command);
    this.current = applied.topology;
    this.history.append(applied.events);
    return applied;
  }

  /**
   * Replaces the state with a snapshot's topology (a lagging coordinator
   * catching up). The history restarts at the snapshot's revision: watchers
   * behind it get a snapshot. Throws InternalError, changing nothing, when
   * the topology breaks an invariant or would move the revision back.
   */
  installSnapshot(topology: Topology): void {
    const installed = soundCopy(topology);
    if (installed.revision < this.current.revision) {
      throw new InternalError(
        `snapshot at revision ${installed.revision} is older than the applied revision ${this.current.revision}`,
      );
    }
    this.current = installed;
    this.history = new EventHistory(installed.revision, this.historyEventsMax);
  }

  /** The events after `revision`, or "compacted" when the history no longer reaches back to it. */
  eventsSince(revision: bigint): EventsSince {
    return this.history.eventsSince(revision);
  }
}

function soundCopy(topology: Topology): Topology {
  const violations = topologyViolations(topology);
  if (violations.length > 0) {
    const quoted = violations.slice(0, violationsQuotedMax).join('; ');
    const more = violations.length > violationsQuotedMax ? `; and ${violations.length - violationsQuotedMax} more` : '';
    throw new InternalError(`topology at revision ${topology.revision} breaks invariants: ${quoted}${more}`);
  }
  return frozenTopology(topology);
}

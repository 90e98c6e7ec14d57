// The recent TopologyEvents, kept so a WatchTopology can resume from a
// revision instead of starting over from a snapshot. It is not replicated
// state: each coordinator builds it from the commands it applies, and after
// installing a snapshot it starts empty at the snapshot's revision (the
// snapshot carries only the topology).
import { eventHistoryMax } from './limits';
import type { TopologyEvent } from './types';

export type EventsSince =
  /** Every event after the revision asked for, in revision order; empty when the watcher is up to date. */
  | { readonly type: 'events'; readonly events: readonly TopologyEvent[] }
  /** Events after the revision asked for are gone: send a snapshot, then events after oldestRevision. */
  | { readonly type: 'compacted'; readonly oldestRevision: bigint };

export class EventHistory {
  /** Events in revision order; those before `head` are dropped and wait to be spliced out. */
  private events: TopologyEvent[] = [];
  private head = 0;
  private compactedThrough: bigint;
  private lastRevision: bigint;

  /**
   * @param startRevision the revision of the topology the history starts at; no event at or before it is known.
   * @param eventsMax how many events to keep; whole revisions are dropped, so at most this many are kept.
   */
  constructor(
    startRevision: bigint,
    private readonly eventsMax = eventHistoryMax,
  ) {
    if (!Number.isInteger(eventsMax) || eventsMax < 1) throw new RangeError(`eventsMax must be >= 1, got ${eventsMax}`);
    this.compactedThrough = startRevision;
    this.lastRevision = startRevision;
  }

  /** The oldest revision eventsSince can resume from. */
  get oldestRevision(): bigint {
    return this.compactedThrough;
  }

  get size(): number {
    return this.events.length - this.head;
  }

  /** Adds the events of one applied command: all of one revision, higher than every earlier one. */
  append(events: readonly TopologyEvent[]): void {
    const revision = events[0]?.revision;
    if (revision === undefined) return;
    if (revision <= this.lastRevision || events.some((event) => event.revision !== revision)) {
      throw new RangeError(`events must all carry one revision above ${this.lastRevision}`);
    }
    this.events.push(...events);
    this.lastRevision = revision;
    this.dropOldest();
  }

  /** The events after `revision` (WatchTopology's start_revision - 1), or "compacted" when some are gone. */
  eventsSince(revision: bigint): EventsSince {
    if (revision < this.compactedThrough) return { type: 'compacted', oldestRevision: this.compactedThrough };
    return { type: 'events', events: this.events.slice(this.firstIndexAfter(revision)) };
  }

  /**
   * Drops the oldest revisions until at most eventsMax events are left. A
   * revision goes whole: a watcher resuming after it must get all of its
   * events or be told to take a snapshot.
   */
  private dropOldest(): void {
    if (this.size <= this.eventsMax) return;
    const firstKept = this.events.length - this.eventsMax;
    const dropThrough = (this.events[firstKept - 1] as TopologyEvent).revision;
    this.head = this.firstIndexAfter(dropThrough);
    this.compactedThrough = dropThrough;
    // Splice the dropped prefix out once it is as long as what is kept, so
    // each event is copied O(1) times on average.
    if (this.head >= this.eventsMax) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** Binary search over the kept events: the index of the first with a revision above `revision`. */
  private firstIndexAfter(revision: bigint): number {
    let low = this.head;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.events[middle] as TopologyEvent).revision <= revision) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

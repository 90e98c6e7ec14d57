// Folds WatchTopology events into a cached topology: what a router or
// replica does with the stream after its first snapshot. Each change sets a
// value (it never adds to one), so an event seen twice does no harm; a
// missing revision does, and is refused.
import { frozenGroup, frozenMember, frozenRing, withItem, withoutItem } from './topology';
import type { Topology, TopologyEvent } from './types';

/**
 * The topology after the events, which must continue it: each event's
 * revision is the topology's revision (another event of the last revision
 * applied) or the next one. Throws RangeError on a gap, since the cache
 * would then silently miss a change; the watcher must resubscribe.
 */
export function applyEvents(topology: Topology, events: readonly TopologyEvent[]): Topology {
  let { revision, members, groups, ring } = topology;
  for (const { revision: eventRevision, change } of events) {
    if (eventRevision !== revision && eventRevision !== revision + 1n) {
      throw new RangeError(`event at revision ${eventRevision} does not follow revision ${revision}`);
    }
    revision = eventRevision;
    switch (change.type) {
      case 'memberRegistered':
        members = withItem(members, frozenMember(change.member));
        break;
      case 'memberDeregistered':
        members = withoutItem(members, change.memberId);
        break;
      case 'groupUpdated':
        groups = withItem(groups, frozenGroup(change.group));
        break;
      case 'groupDeleted':
        groups = withoutItem(groups, change.groupId);
        break;
      case 'ringUpdated':
        ring = frozenRing(change.ring);
        break;
    }
  }
  return Object.freeze({ revision, members, groups, ring });
}

// Folds WatchTopology events into a cached coordinator.v1 Topology: what a
// router or replica does with the stream after its first snapshot. The
// coordinators' own fold (@bulwark/metadata applyEvents) works on their
// internal types and is not visible outside the coordinator scope; this one
// keeps the same rules on the contract's types: each change sets a value
// (so an event seen twice does no harm), a missing revision is refused, and
// members and groups stay sorted by id in code point order, as the
// coordinators send them.
import type { coordinatorV1 } from '@bulwark/contracts';
import { compareCodePoints } from '@bulwark/partitioning';

/**
 * The topology after the events, which must continue it: each event's
 * revision is the topology's revision (another event of the last revision
 * applied) or the next one. Throws RangeError on a gap, and TypeError on a
 * change this client does not know (a newer coordinator's): either way the
 * cache would silently miss a change, so the watcher must start over from a
 * snapshot. The input is not modified; the result is frozen throughout.
 */
export function applyTopologyEvents(
  topology: coordinatorV1.Topology,
  events: readonly coordinatorV1.TopologyEvent[],
): coordinatorV1.Topology {
  if (events.length === 0) return topology;
  let { revision, ring } = topology;
  // Built on the first change of their kind: a batch costs O(n log n + events), not O(n * events).
  let members: Map<string, coordinatorV1.Member> | undefined;
  let groups: Map<string, coordinatorV1.ReplicaGroup> | undefined;
  for (const event of events) {
    if (event.revision !== revision && event.revision !== revision + 1n) {
      throw new RangeError(`event at revision ${event.revision} does not follow revision ${revision}`);
    }
    revision = event.revision;
    const { change } = event;
    switch (change?.$case) {
      case 'memberRegistered':
        members ??= byId(topology.members);
        members.set(change.memberRegistered.id, change.memberRegistered);
        break;
      case 'memberDeregistered':
        members ??= byId(topology.members);
        members.delete(change.memberDeregistered);
        break;
      case 'groupUpdated':
        groups ??= byId(topology.groups);
        groups.set(change.groupUpdated.id, change.groupUpdated);
        break;
      case 'groupDeleted':
        groups ??= byId(topology.groups);
        groups.delete(change.groupDeleted);
        break;
      case 'ringUpdated':
        ring = change.ringUpdated;
        break;
      default:
        throw new TypeError(`event at revision ${event.revision} carries a change this client does not know`);
    }
  }
  return Object.freeze({
    revision,
    members: members ? Object.freeze(sortedById(members).map(frozenMember)) : topology.members,
    groups: groups ? Object.freeze(sortedById(groups).map(frozenGroup)) : topology.groups,
    ring: ring === topology.ring ? ring : frozenRing(ring),
  }) as coordinatorV1.Topology;
}

/** A deep, frozen copy of a snapshot, members and groups sorted by id, so readers may hold it without copying. */
export function frozenTopology(topology: coordinatorV1.Topology): coordinatorV1.Topology {
  return Object.freeze({
    revision: topology.revision,
    members: Object.freeze(sortedById(byId(topology.members)).map(frozenMember)),
    groups: Object.freeze(sortedById(byId(topology.groups)).map(frozenGroup)),
    ring: frozenRing(topology.ring),
  }) as coordinatorV1.Topology;
}

function byId<T extends { readonly id: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [item.id, item]));
}

function sortedById<T extends { readonly id: string }>(items: ReadonlyMap<string, T>): T[] {
  return [...items.values()].sort((a, b) => compareCodePoints(a.id, b.id));
}

function frozenMember(member: coordinatorV1.Member): coordinatorV1.Member {
  return Object.isFrozen(member) ? member : Object.freeze({ ...member });
}

function frozenGroup(group: coordinatorV1.ReplicaGroup): coordinatorV1.ReplicaGroup {
  if (Object.isFrozen(group)) return group;
  return Object.freeze({
    ...group,
    members: Object.freeze([...group.members]),
    inSync: Object.freeze([...group.inSync]),
  }) as coordinatorV1.ReplicaGroup;
}

function frozenRing(ring: coordinatorV1.Ring | undefined): coordinatorV1.Ring | undefined {
  if (!ring || Object.isFrozen(ring)) return ring;
  return Object.freeze({
    ...ring,
    groups: Object.freeze(ring.groups.map((group) => Object.freeze({ ...group }))),
  }) as coordinatorV1.Ring;
}

// What a router routes by: one coordinator topology, read as the hash ring,
// each group's primary, members and in-sync set, and every member's
// address. Immutable; a new topology is a new table. The ring is rebuilt
// only when its version changes (building one hashes every virtual node).
import type { coordinatorV1 } from '@bulwark/contracts';
import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { hashRingOf } from '@bulwark/coordinator-client';
import { type HashRing, keyPlacementHash } from '@bulwark/partitioning';

export interface GroupRoute {
  readonly id: string;
  readonly epoch: bigint;
  /** Member id of the primary; empty while the group has none. */
  readonly primary: string;
  readonly members: readonly string[];
  readonly inSync: readonly string[];
}

export interface KeyPlacement {
  readonly key: string;
  readonly keyHash: number;
  readonly ringVersion: bigint;
  readonly group: GroupRoute;
}

export class RoutingTable {
  readonly revision: bigint;
  readonly ring: HashRing | undefined;
  /** Everything a route depends on (ring version, groups' epochs, primaries and members, their addresses) as one string. */
  readonly routingKey: string;
  private readonly groups: ReadonlyMap<string, GroupRoute>;
  private readonly addresses: ReadonlyMap<string, string>;

  private constructor(revision: bigint, ring: HashRing | undefined, topology: coordinatorV1.Topology) {
    this.revision = revision;
    this.ring = ring;
    this.groups = new Map(
      topology.groups.map((group) => [
        group.id,
        { id: group.id, epoch: group.epoch, primary: group.primary, members: group.members, inSync: group.inSync },
      ]),
    );
    this.addresses = new Map(topology.members.map((member) => [member.id, member.address]));
    const groupsPart = topology.groups.map(
      (group) => `${group.id}:${group.epoch}:${group.primary}:${group.members.join(',')}:${group.inSync.join(',')}`,
    );
    // Only the addresses of group members: routers, lock services and monitors coming and going (every pod
    // of a scaled Deployment) change no route, and must not wake every retry waiting for a routing change.
    const grouped = new Set(topology.groups.flatMap((group) => group.members));
    const membersPart = topology.members
      .filter((member) => grouped.has(member.id))
      .map((member) => `${member.id}@${member.address}`);
    this.routingKey = `${ring?.version ?? '-'}|${groupsPart.join(';')}|${membersPart.join(';')}`;
  }

  /** The table for topology, reusing previous's ring when the ring's version is unchanged. */
  static from(topology: coordinatorV1.Topology, previous?: RoutingTable): RoutingTable {
    return new RoutingTable(topology.revision, hashRingOf(topology.ring, previous?.ring), topology);
  }

  /** The group that owns key: one hash (the hot path); UnavailableError while the ring is empty or names a group the table lacks. */
  groupOf(key: string): GroupRoute {
    if (!this.ring) throw new UnavailableError('the shard ring has no groups yet');
    return this.ringGroup(this.ring.lookup(key));
  }

  /** Where key sits and who owns it, for Locate. */
  place(key: string): KeyPlacement {
    const group = this.groupOf(key);
    return { key, keyHash: keyPlacementHash(key), ringVersion: (this.ring as HashRing).version, group };
  }

  group(id: string): GroupRoute | undefined {
    return this.groups.get(id);
  }

  /** The groups on the ring, in id order. */
  ringGroups(): GroupRoute[] {
    if (!this.ring) throw new UnavailableError('the shard ring has no groups yet');
    return this.ring.groupIds.map((id) => this.ringGroup(id));
  }

  private ringGroup(id: string): GroupRoute {
    const group = this.groups.get(id);
    if (!group) {
      throw new UnavailableError(`the ring names group '${id}', which topology revision ${this.revision} lacks`);
    }
    return group;
  }

  groupIds(): ReadonlySet<string> {
    return new Set(this.groups.keys());
  }

  memberIds(): ReadonlySet<string> {
    return new Set(this.addresses.keys());
  }

  addressOf(memberId: string): string | undefined {
    const address = this.addresses.get(memberId);
    return address === '' ? undefined : address;
  }
}

/** A key a request names, and the request field that names it. */
export interface KeyField {
  readonly key: string;
  readonly field: string;
}

/**
 * The one group every key belongs to, for a transaction; FAILED_PRECONDITION
 * naming the field of the first key of another group, and every group with
 * its keys, when they span several.
 */
export function singleGroup(table: RoutingTable, keys: readonly KeyField[]): GroupRoute {
  const keysByGroup = new Map<string, string[]>();
  let first: GroupRoute | undefined;
  let strayField: string | undefined;
  for (const { key, field } of keys) {
    const group = table.groupOf(key);
    first ??= group;
    if (group.id !== first.id) strayField ??= field;
    const listed = keysByGroup.get(group.id);
    if (listed) listed.push(key);
    else keysByGroup.set(group.id, [key]);
  }
  if (!first) throw new RangeError('singleGroup needs at least one key');
  if (strayField !== undefined) {
    const shown = [...keysByGroup].map(([groupId, groupKeys]) => {
      const listed = groupKeys.slice(0, 3).map((key) => JSON.stringify(key));
      return `${groupId} (${listed.join(', ')}${groupKeys.length > 3 ? ', ...' : ''})`;
    });
    throw new FailedPreconditionError(
      strayField,
      `the transaction's keys span replica groups ${shown.join(', ')}; every key must belong to one group`,
    );
  }
  return first;
}

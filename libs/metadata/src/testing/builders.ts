// Builders for tests: members, and topologies reached through apply() itself,
// so a fixture can never be a state the state machine could not produce.
import { apply } from '../lib/apply';
import type { MetadataCommand } from '../lib/commands';
import { emptyTopology, findGroup } from '../lib/topology';
import type { Member, MemberRole, ReplicaGroup, Topology } from '../lib/types';

export function replica(id: string, groupId: string, address = `${id}:7100`): Member {
  return { id, address, role: 'replica', groupId, metricsAddress: '' };
}

export function service(id: string, role: Exclude<MemberRole, 'replica'>, address = `${id}:7000`): Member {
  return { id, address, role, groupId: '', metricsAddress: '' };
}

/** Applies the commands in order; throws if any is rejected, naming it. */
export function applyAll(commands: readonly MetadataCommand[], start: Topology = emptyTopology): Topology {
  return commands.reduce((topology, command, index) => {
    const { topology: next, result } = apply(topology, command);
    if (!result.ok) throw new Error(`command ${index} (${command.type}) was rejected: ${result.error.message}`);
    return next;
  }, start);
}

export function registerAll(members: readonly Member[]): MetadataCommand[] {
  return members.map((member) => ({ type: 'registerMember', member }));
}

export interface GroupFixture {
  readonly topology: Topology;
  /** 'g1': members r1 (primary), r2, r3, sync, no lease yet. */
  readonly group: ReplicaGroup;
}

/** Replicas r1..r3 declaring g1, a router, and group g1 made of r1..r3; optionally on the ring. */
export function groupFixture(options: { onRing?: boolean } = {}): GroupFixture {
  const commands: MetadataCommand[] = [
    ...registerAll([replica('r1', 'g1'), replica('r2', 'g1'), replica('r3', 'g1'), service('router-1', 'router')]),
    { type: 'createGroup', groupId: 'g1', members: ['r1', 'r2', 'r3'], mode: 'sync' },
  ];
  if (options.onRing) {
    commands.push({
      type: 'setRing',
      expectedVersion: 0n,
      virtualNodesPerWeight: 0,
      groups: [{ groupId: 'g1', weight: 1 }],
    });
  }
  const topology = applyAll(commands);
  return { topology, group: findGroup(topology, 'g1') as ReplicaGroup };
}

/** The fixture with r1 granted a lease of `leaseMs`. */
export function leasedFixture(leaseMs: number): GroupFixture {
  const { topology: start, group } = groupFixture();
  const topology = applyAll(
    [{ type: 'renewPrimaryLease', groupId: 'g1', memberId: 'r1', epoch: group.epoch, leaseMs }],
    start,
  );
  return { topology, group: findGroup(topology, 'g1') as ReplicaGroup };
}

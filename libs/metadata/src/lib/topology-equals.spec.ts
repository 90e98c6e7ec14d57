import { groupFixture } from '../testing';
import { topologyEquals } from './topology-equals';
import type { ReplicaGroup, Topology } from './types';

const { topology } = groupFixture({ onRing: true });
const withGroup = (changes: Partial<ReplicaGroup>): Topology => ({
  ...topology,
  groups: topology.groups.map((group) => ({ ...group, ...changes })),
});

describe('topologyEquals', () => {
  it('holds for topologies built apart from the same commands', () => {
    expect(topologyEquals(topology, groupFixture({ onRing: true }).topology)).toBe(true);
    expect(topologyEquals(topology, structuredClone(topology) as Topology)).toBe(true);
  });

  it.each<[string, Topology]>([
    ['revision', { ...topology, revision: topology.revision + 1n }],
    ['a member', { ...topology, members: topology.members.slice(1) }],
    ['an address', { ...topology, members: topology.members.map((member) => ({ ...member, address: 'x:1' })) }],
    [
      'a metrics address',
      { ...topology, members: topology.members.map((member) => ({ ...member, metricsAddress: 'x:9464' })) },
    ],
    ['a role', { ...topology, members: topology.members.map((member) => ({ ...member, role: 'lock' as const })) }],
    ['a declared group', { ...topology, members: topology.members.map((member) => ({ ...member, groupId: 'gx' })) }],
    ['an epoch', withGroup({ epoch: 99n })],
    ['a primary', withGroup({ primary: 'r2' })],
    ['the member order', withGroup({ members: ['r2', 'r1', 'r3'] })],
    ['the in-sync set', withGroup({ inSync: ['r1'] })],
    ['a mode', withGroup({ mode: 'async' })],
    ['a lease revision', withGroup({ primaryLeaseRevision: 1n })],
    ['a lease length', withGroup({ primaryLeaseMs: 1 })],
    ['a handover target', withGroup({ handoverTarget: 'r2' })],
    ['the ring version', { ...topology, ring: { ...topology.ring, version: 9n } }],
    ['virtual nodes', { ...topology, ring: { ...topology.ring, virtualNodesPerWeight: 1 } }],
    ['a weight', { ...topology, ring: { ...topology.ring, groups: [{ groupId: 'g1', weight: 2 }] } }],
  ])('fails when %s differs', (_, other) => {
    expect(topologyEquals(topology, other)).toBe(false);
    expect(topologyEquals(other, topology)).toBe(false);
  });
});

import { ringPointsMax } from '@bulwark/partitioning';
import { groupFixture } from '../testing';
import { topologyViolations } from './invariants';
import type { ReplicaGroup, Topology } from './types';

const { topology: sound } = groupFixture({ onRing: true });

const withGroup = (changes: Partial<ReplicaGroup>): Topology => ({
  ...sound,
  groups: sound.groups.map((group) => ({ ...group, ...changes })),
});

describe('topologyViolations', () => {
  it('finds none in topologies the state machine produced', () => {
    expect(topologyViolations(sound)).toEqual([]);
    expect(topologyViolations(groupFixture().topology)).toEqual([]);
  });

  it.each<[string, Topology]>([
    ['revision is not a uint64', { ...sound, revision: -1n }],
    ['members are not sorted', { ...sound, members: [...sound.members].reverse() }],
    ['is also', { ...sound, members: sound.members.map((member) => ({ ...member, address: 'same:1' })) }],
    [
      'invalid group_id',
      {
        ...sound,
        members: sound.members.map((member) => ({
          ...member,
          groupId: member.role === 'router' ? 'g1' : member.groupId,
        })),
      },
    ],
    [
      'not a registered replica that declared this group',
      {
        ...sound,
        members: sound.members.map((member) => (member.id === 'r3' ? { ...member, groupId: 'g2' } : member)),
      },
    ],
    ['groups are not sorted', { ...sound, groups: [...sound.groups, ...sound.groups] }],
    ['epoch below 1', withGroup({ epoch: 0n })],
    ['not 1 to 7', withGroup({ members: [], inSync: [], primary: '' })],
    ['listed twice', withGroup({ members: ['r1', 'r1', 'r2'], inSync: ['r1', 'r2'] })],
    ['in_sync is not a subset', withGroup({ inSync: ['r2', 'r1'] })],
    ['in_sync is not a subset', withGroup({ inSync: ['r1', 'router-1'] })],
    ["primary 'r3' is not in sync", withGroup({ primary: 'r3', inSync: ['r1', 'r2'] })],
    ['invalid mode', withGroup({ mode: 'fast' as ReplicaGroup['mode'] })],
    ['primary lease revision 0 outside', withGroup({ primaryLeaseRevision: 0n })],
    ['outside 1 to', withGroup({ primaryLeaseRevision: sound.revision + 1n })],
    ['primary lease of 60001 ms', withGroup({ primaryLeaseMs: 60_001 })],
    ["handover target 'r1' is the primary", withGroup({ handoverTarget: 'r1' })],
    ["handover target 'r9' is the primary or not a member", withGroup({ handoverTarget: 'r9' })],
    ["group 'g9' does not exist", { ...sound, ring: { ...sound.ring, groups: [{ groupId: 'g9', weight: 1 }] } }],
    ['version 0 must have no groups', { ...sound, ring: { ...sound.ring, version: 0n } }],
    ['has weight 0', { ...sound, ring: { ...sound.ring, groups: [{ groupId: 'g1', weight: 0 }] } }],
    [
      `more than ${ringPointsMax} points`,
      { ...sound, ring: { ...sound.ring, virtualNodesPerWeight: 16_384, groups: [{ groupId: 'g1', weight: 65 }] } },
    ],
    ['virtual_nodes_per_weight 0 out of range', { ...sound, ring: { ...sound.ring, virtualNodesPerWeight: 0 } }],
  ])('reports "%s"', (violation, topology) => {
    expect(topologyViolations(topology).join('\n')).toContain(violation);
  });
});

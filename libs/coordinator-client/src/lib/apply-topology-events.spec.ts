import { coordinatorV1 } from '@bulwark/contracts';
import { applyTopologyEvents, frozenTopology } from './apply-topology-events';

const member = (id: string, address = `${id}:7100`) =>
  coordinatorV1.Member.create({ id, address, role: coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER });
const start = frozenTopology(
  coordinatorV1.Topology.create({ revision: 4n, members: [member('b'), member('a')], ring: { version: 0n } }),
);

describe('applyTopologyEvents', () => {
  it('sets each change, keeps ids sorted, and leaves the input as it was', () => {
    const next = applyTopologyEvents(start, [
      { revision: 5n, change: { $case: 'memberRegistered', memberRegistered: member('c') } },
      { revision: 5n, change: { $case: 'memberRegistered', memberRegistered: member('a', 'moved:1') } },
      { revision: 6n, change: { $case: 'groupUpdated', groupUpdated: coordinatorV1.ReplicaGroup.create({ id: 'g' }) } },
      {
        revision: 7n,
        change: { $case: 'ringUpdated', ringUpdated: { version: 1n, virtualNodesPerWeight: 1, groups: [] } },
      },
      { revision: 8n, change: { $case: 'groupDeleted', groupDeleted: 'g' } },
      { revision: 9n, change: { $case: 'memberDeregistered', memberDeregistered: 'b' } },
    ]);
    expect(next.revision).toBe(9n);
    expect(next.members.map((m) => [m.id, m.address])).toEqual([
      ['a', 'moved:1'],
      ['c', 'c:7100'],
    ]);
    expect(next.groups).toEqual([]);
    expect(next.ring?.version).toBe(1n);
    expect(Object.isFrozen(next.members[0])).toBe(true);
    expect(start.revision).toBe(4n);
    expect(start.members.map((m) => m.id)).toEqual(['a', 'b']);
  });

  it('refuses a gap and a change it does not know, rather than miss a change', () => {
    const gap = { revision: 6n, change: { $case: 'groupDeleted' as const, groupDeleted: 'g' } };
    expect(() => applyTopologyEvents(start, [gap])).toThrow(RangeError);
    expect(() => applyTopologyEvents(start, [{ revision: 5n, change: undefined }])).toThrow(TypeError);
  });
});

import { coordinatorV1 } from '@bulwark/contracts';
import { FailedPreconditionError, UnavailableError } from '@bulwark/errors';
import { HashRing, hashKey } from '@bulwark/partitioning';
import { RoutingTable, singleGroup, type KeyField } from './routing-table';

const groupIds = ['group-a', 'group-b', 'group-c'] as const;

function replicaGroup(id: string, overrides: Partial<coordinatorV1.ReplicaGroup> = {}): coordinatorV1.ReplicaGroup {
  const members = [1, 2, 3].map((index) => `${id}-${index}`);
  return {
    id,
    epoch: 3n,
    primary: members[0] as string,
    members,
    inSync: members.slice(0, 2),
    mode: coordinatorV1.ReplicationMode.REPLICATION_MODE_SYNC,
    primaryLeaseRevision: 10n,
    primaryLeaseMs: 2_000,
    handoverTarget: '',
    ...overrides,
  };
}

/** Three groups of three replicas on a ring (group-c twice as heavy), at revision 20. */
function topology(overrides: Partial<coordinatorV1.Topology> = {}): coordinatorV1.Topology {
  const groups = groupIds.map((id) => replicaGroup(id));
  return {
    revision: 20n,
    members: groups.flatMap((group) =>
      group.members.map((memberId, index) => ({
        id: memberId,
        address: `10.0.${groups.indexOf(group)}.${index + 1}:7100`,
        role: coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA,
        groupId: group.id,
        metricsAddress: '',
      })),
    ),
    groups,
    ring: {
      version: 1n,
      virtualNodesPerWeight: 0,
      groups: [
        { groupId: 'group-a', weight: 1 },
        { groupId: 'group-b', weight: 1 },
        { groupId: 'group-c', weight: 2 },
      ],
    },
    ...overrides,
  };
}

/** The same ring as topology() describes, built directly (virtualNodesPerWeight 0 on the wire is the default). */
const referenceRing = new HashRing({
  version: 1n,
  groups: [
    { id: 'group-a', weight: 1 },
    { id: 'group-b', weight: 1 },
    { id: 'group-c', weight: 2 },
  ],
});

/** The first count keys of the form key-<n> that referenceRing places in groupId. */
function keysIn(groupId: string, count: number): string[] {
  const keys: string[] = [];
  for (let index = 0; keys.length < count; index++) {
    if (referenceRing.lookup(`key-${index}`) === groupId) keys.push(`key-${index}`);
  }
  return keys;
}

const sampleKeys = [
  ...Array.from({ length: 2_000 }, (_, index) => `user/${index}`),
  '',
  'ключ',
  '😀',
  'a'.repeat(1024),
];

describe('RoutingTable', () => {
  describe('placement', () => {
    it('places every key where a HashRing of the same groups, weights and default points does', () => {
      const table = RoutingTable.from(topology());
      const placedGroups = new Set<string>();
      for (const key of sampleKeys) {
        const placement = table.place(key);
        expect(placement.group.id).toBe(referenceRing.lookup(key));
        expect(placement).toMatchObject({ key, keyHash: hashKey(key), ringVersion: 1n });
        placedGroups.add(placement.group.id);
      }
      expect(placedGroups).toEqual(new Set(groupIds));
    });

    it('builds the ring with the virtualNodesPerWeight the topology names when it is not 0', () => {
      const base = topology();
      const table = RoutingTable.from({
        ...base,
        ring: { ...(base.ring as coordinatorV1.Ring), virtualNodesPerWeight: 8 },
      });
      const sparse = new HashRing(
        {
          version: 1n,
          groups: [
            { id: 'group-a', weight: 1 },
            { id: 'group-b', weight: 1 },
            { id: 'group-c', weight: 2 },
          ],
        },
        { virtualNodesPerWeight: 8 },
      );
      expect(table.ring?.virtualNodesPerWeight).toBe(8);
      expect(sampleKeys.map((key) => table.place(key).group.id)).toEqual(sampleKeys.map((key) => sparse.lookup(key)));
    });

    it("places a key with its group's epoch, primary, members and in-sync set", () => {
      const table = RoutingTable.from(topology());
      const [key] = keysIn('group-b', 1);
      expect(table.place(key as string).group).toEqual({
        id: 'group-b',
        epoch: 3n,
        primary: 'group-b-1',
        members: ['group-b-1', 'group-b-2', 'group-b-3'],
        inSync: ['group-b-1', 'group-b-2'],
      });
    });

    it('is UnavailableError while the ring has no groups, or there is no ring', () => {
      for (const ring of [undefined, { version: 4n, virtualNodesPerWeight: 0, groups: [] }]) {
        const table = RoutingTable.from(topology({ ring }));
        expect(table.ring).toBeUndefined();
        expect(() => table.place('key')).toThrow(UnavailableError);
        expect(() => table.place('key')).toThrow('the shard ring has no groups yet');
        expect(() => table.ringGroups()).toThrow(UnavailableError);
        // Groups and members are known all the same.
        expect(table.groupIds()).toEqual(new Set(groupIds));
      }
    });

    it('is UnavailableError for a key the ring gives to a group the topology lacks', () => {
      const base = topology();
      const table = RoutingTable.from({ ...base, groups: base.groups.filter((group) => group.id !== 'group-b') });
      const [key] = keysIn('group-b', 1);
      expect(() => table.place(key as string)).toThrow(
        new UnavailableError("the ring names group 'group-b', which topology revision 20 lacks"),
      );
      expect(() => table.ringGroups()).toThrow(UnavailableError);
    });
  });

  describe('ring reuse', () => {
    it('reuses the previous ring object while the ring version is unchanged', () => {
      const first = RoutingTable.from(topology());
      const next = RoutingTable.from(topology({ revision: 21n }), first);
      expect(next.ring).toBe(first.ring);
      expect(next.revision).toBe(21n);
    });

    it('rebuilds the ring when its version changes, and places keys by the new one', () => {
      const first = RoutingTable.from(topology());
      const withoutC = topology({
        revision: 21n,
        ring: {
          version: 2n,
          virtualNodesPerWeight: 0,
          groups: [
            { groupId: 'group-a', weight: 1 },
            { groupId: 'group-b', weight: 1 },
          ],
        },
      });
      const next = RoutingTable.from(withoutC, first);
      expect(next.ring).not.toBe(first.ring);
      expect(next.ring?.version).toBe(2n);
      expect(next.ring?.groupIds).toEqual(['group-a', 'group-b']);
      for (const key of keysIn('group-c', 50)) expect(next.place(key).group.id).not.toBe('group-c');
    });

    it('builds a ring when the previous table had none', () => {
      const empty = RoutingTable.from(topology({ ring: undefined }));
      const next = RoutingTable.from(topology({ revision: 21n }), empty);
      expect(next.ring?.version).toBe(1n);
      const [key] = keysIn('group-a', 1);
      expect(next.place(key as string).group.id).toBe('group-a');
    });
  });

  describe('lookups', () => {
    it('lists the ring groups in id order, whatever order the ring lists them in', () => {
      const base = topology();
      const ring = base.ring as coordinatorV1.Ring;
      const table = RoutingTable.from({ ...base, ring: { ...ring, groups: [...ring.groups].reverse() } });
      expect(table.ringGroups().map((group) => group.id)).toEqual(['group-a', 'group-b', 'group-c']);
    });

    it('knows every group, member and address, and no address for a member that has not registered one', () => {
      const base = topology();
      const unregistered = { ...(base.members[0] as coordinatorV1.Member), id: 'router-1', address: '' };
      const table = RoutingTable.from({ ...base, members: [...base.members, unregistered] });
      expect(table.group('group-c')?.primary).toBe('group-c-1');
      expect(table.group('group-z')).toBeUndefined();
      expect(table.memberIds()).toEqual(new Set([...base.members.map((member) => member.id), 'router-1']));
      expect(table.addressOf('group-b-2')).toBe('10.0.1.2:7100');
      expect(table.addressOf('router-1')).toBeUndefined();
      expect(table.addressOf('nobody')).toBeUndefined();
    });
  });

  describe('routingKey', () => {
    const base = topology();
    const baseKey = RoutingTable.from(base).routingKey;
    const withGroupB = (overrides: Partial<coordinatorV1.ReplicaGroup>): coordinatorV1.Topology => ({
      ...base,
      revision: 21n,
      groups: base.groups.map((group) => (group.id === 'group-b' ? { ...group, ...overrides } : group)),
    });

    it.each<[string, coordinatorV1.Topology]>([
      ["a group's epoch", withGroupB({ epoch: 4n })],
      ["a group's primary", withGroupB({ primary: 'group-b-2' })],
      ['a failover (new epoch and primary)', withGroupB({ epoch: 4n, primary: 'group-b-2' })],
      ["a group's primary going missing", withGroupB({ primary: '' })],
      ["a group's members", withGroupB({ members: ['group-b-1', 'group-b-2'] })],
      ["a group's in-sync set", withGroupB({ inSync: ['group-b-1'] })],
      [
        "a member's address",
        {
          ...base,
          revision: 21n,
          members: base.members.map((member) =>
            member.id === 'group-a-3' ? { ...member, address: '10.9.9.9:7100' } : member,
          ),
        },
      ],
      ['the ring version', { ...base, revision: 21n, ring: { ...(base.ring as coordinatorV1.Ring), version: 2n } }],
    ])('changes with %s', (_, changed) => {
      expect(RoutingTable.from(changed).routingKey).not.toBe(baseKey);
    });

    it.each<[string, coordinatorV1.Topology]>([
      ['only the revision', { ...base, revision: 99n }],
      ['a lease renewal', withGroupB({ primaryLeaseRevision: 21n, primaryLeaseMs: 3_000 })],
      ['a handover target', withGroupB({ handoverTarget: 'group-b-2' })],
      [
        // The base has none, so this is also one leaving.
        'a router registering',
        {
          ...base,
          revision: 21n,
          members: [
            ...base.members,
            {
              id: 'router-9',
              address: '10.0.9.9:7200',
              role: coordinatorV1.MemberRole.MEMBER_ROLE_ROUTER,
              groupId: '',
              metricsAddress: '',
            },
          ],
        },
      ],
    ])('stays the same with %s', (_, changed) => {
      expect(RoutingTable.from(changed).routingKey).toBe(baseKey);
    });
  });
});

describe('singleGroup', () => {
  const table = RoutingTable.from(topology());
  const fields = (keys: readonly string[]): KeyField[] =>
    keys.map((key, index) => ({ key, field: `compares[${index}].key` }));

  it('returns the group every key belongs to', () => {
    const keys = keysIn('group-c', 5);
    expect(singleGroup(table, fields(keys))).toBe(table.group('group-c'));
    expect(singleGroup(table, fields(keys.slice(0, 1)))).toBe(table.group('group-c'));
  });

  it('throws FailedPreconditionError naming the first key of another group, and both groups with their keys', () => {
    const [a1, a2, a3] = keysIn('group-a', 3) as [string, string, string];
    const [b1, b2] = keysIn('group-b', 2) as [string, string];
    const keys: KeyField[] = [
      { key: a1, field: 'compares[0].key' },
      { key: a2, field: 'success[0].put.key' },
      { key: b1, field: 'success[1].put.key' },
      { key: a3, field: 'failure[0].delete.key' },
      { key: b2, field: 'failure[1].put.key' },
    ];
    let thrown: unknown;
    try {
      singleGroup(table, keys);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FailedPreconditionError);
    expect(thrown).toMatchObject({
      retryable: false,
      details: { field: 'success[1].put.key' },
      message:
        `success[1].put.key: the transaction's keys span replica groups ` +
        `group-a ("${a1}", "${a2}", "${a3}"), group-b ("${b1}", "${b2}"); every key must belong to one group`,
    });
  });

  it('shows at most three keys of a group', () => {
    const [b1] = keysIn('group-b', 1) as [string];
    const aKeys = keysIn('group-a', 5);
    expect(() => singleGroup(table, fields([b1, ...aKeys]))).toThrow(
      `compares[1].key: the transaction's keys span replica groups group-b ("${b1}"), ` +
        `group-a ("${aKeys[0]}", "${aKeys[1]}", "${aKeys[2]}", ...); every key must belong to one group`,
    );
  });

  it('needs at least one key', () => {
    expect(() => singleGroup(table, [])).toThrow(RangeError);
  });

  it('passes on UnavailableError while the ring is empty', () => {
    expect(() => singleGroup(RoutingTable.from(topology({ ring: undefined })), fields(['key']))).toThrow(
      UnavailableError,
    );
  });
});

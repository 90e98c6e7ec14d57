import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import { defaultVirtualNodesPerWeight, ringPointsMax, virtualNodesPerWeightMax } from '@bulwark/partitioning';
import { applyAll, expectRejected, registerAll, replica } from '../../testing';
import { apply } from '../apply';
import type { SetRingCommand } from '../commands';
import type { RingGroup } from '../types';

const threeGroups = applyAll([
  ...registerAll([replica('ra', 'ga'), replica('rb', 'gb'), replica('rc', 'gc')]),
  ...['a', 'b', 'c'].map((suffix) => ({
    type: 'createGroup' as const,
    groupId: `g${suffix}`,
    members: [`r${suffix}`],
    mode: 'sync' as const,
    nowMs: 0n,
  })),
]);

const setRing = (groups: RingGroup[], overrides: Partial<SetRingCommand> = {}): SetRingCommand => ({
  type: 'setRing',
  expectedVersion: 0n,
  virtualNodesPerWeight: 0,
  groups,
  ...overrides,
});

describe('setRing', () => {
  it('stores the ring at version + 1, groups sorted by id, 0 virtual nodes meaning the default', () => {
    const { topology, events, result } = apply(
      threeGroups,
      setRing([
        { groupId: 'gc', weight: 2 },
        { groupId: 'ga', weight: 1 },
      ]),
    );
    const ring = {
      version: 1n,
      virtualNodesPerWeight: defaultVirtualNodesPerWeight,
      groups: [
        { groupId: 'ga', weight: 1 },
        { groupId: 'gc', weight: 2 },
      ],
    };
    expect(topology.ring).toEqual(ring);
    expect(topology.revision).toBe(threeGroups.revision + 1n);
    expect(events).toEqual([{ revision: topology.revision, change: { type: 'ringUpdated', ring } }]);
    expect(result).toEqual({ ok: true, value: { ring } });
  });

  it('replaces the ring at the version the caller read, and refuses the same version twice', () => {
    const first = applyAll([setRing([{ groupId: 'ga', weight: 1 }])], threeGroups);
    const second = apply(
      first,
      setRing([{ groupId: 'gb', weight: 1 }], { expectedVersion: 1n, virtualNodesPerWeight: 7 }),
    );
    expect(second.topology.ring).toEqual({
      version: 2n,
      virtualNodesPerWeight: 7,
      groups: [{ groupId: 'gb', weight: 1 }],
    });
    const message = expectRejected(
      apply(second.topology, setRing([{ groupId: 'gc', weight: 1 }], { expectedVersion: 1n })),
      second.topology,
      FailedPreconditionError,
      'expected_version',
    );
    expect(message).toContain('version 2');
  });

  it.each([
    ['expected_version', setRing([{ groupId: 'ga', weight: 1 }], { expectedVersion: -1n })],
    ['virtual_nodes_per_weight', setRing([{ groupId: 'ga', weight: 1 }], { virtualNodesPerWeight: -1 })],
    [
      'virtual_nodes_per_weight',
      setRing([{ groupId: 'ga', weight: 1 }], { virtualNodesPerWeight: virtualNodesPerWeightMax + 1 }),
    ],
    ['virtual_nodes_per_weight', setRing([{ groupId: 'ga', weight: 1 }], { virtualNodesPerWeight: 1.5 })],
    ['groups', setRing([])],
    ['groups[0].group_id', setRing([{ groupId: 'GA', weight: 1 }])],
    [
      'groups[1].group_id',
      setRing([
        { groupId: 'ga', weight: 1 },
        { groupId: 'ga', weight: 2 },
      ]),
    ],
    ['groups[0].weight', setRing([{ groupId: 'ga', weight: 0 }])],
    [
      'groups[1].weight',
      setRing([
        { groupId: 'ga', weight: 1 },
        { groupId: 'gb', weight: 1001 },
      ]),
    ],
    ['groups[0].weight', setRing([{ groupId: 'ga', weight: 2.5 }])],
  ])('rejects a malformed request as INVALID_ARGUMENT naming %s', (field, command) => {
    expectRejected(apply(threeGroups, command), threeGroups, InvalidArgumentError, field);
  });

  it(`rejects a ring no router could build: more than ringPointsMax (${ringPointsMax}) points`, () => {
    const perWeight = virtualNodesPerWeightMax;
    const atLimit = setRing([{ groupId: 'ga', weight: ringPointsMax / perWeight }], {
      virtualNodesPerWeight: perWeight,
    });
    expect(apply(threeGroups, atLimit).result.ok).toBe(true);
    const over = setRing(
      [
        { groupId: 'ga', weight: ringPointsMax / perWeight },
        { groupId: 'gb', weight: 1 },
      ],
      { virtualNodesPerWeight: perWeight },
    );
    expectRejected(apply(threeGroups, over), threeGroups, InvalidArgumentError, 'groups');
  });

  it('rejects a group that does not exist as NOT_FOUND naming groups[i].group_id', () => {
    const command = setRing([
      { groupId: 'ga', weight: 1 },
      { groupId: 'gz', weight: 1 },
    ]);
    expectRejected(apply(threeGroups, command), threeGroups, NotFoundError, 'groups[1].group_id');
  });

  it('checks the request before the version: a malformed ring is INVALID_ARGUMENT at any version', () => {
    expectRejected(
      apply(threeGroups, setRing([], { expectedVersion: 5n })),
      threeGroups,
      InvalidArgumentError,
      'groups',
    );
  });
});

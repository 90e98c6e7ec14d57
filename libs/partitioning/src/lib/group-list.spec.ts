import type { GroupList, GroupSpec, Partitioner } from './partitioner';
import { groupIdLengthMax, groupsMax, validGroupsInIdOrder } from './group-list';
import { HashRing } from './hash-ring';
import { ModuloPartitioner } from './modulo-partitioner';
import { RangePartitioner } from './range-partitioner';
import { expectInvalidArgument } from '@bulwark/errors/testing';

const builders: [string, (list: GroupList) => Partitioner][] = [
  ['HashRing', (list) => new HashRing(list, { virtualNodesPerWeight: 1 })],
  ['ModuloPartitioner', (list) => new ModuloPartitioner(list)],
  ['RangePartitioner', (list) => new RangePartitioner(list, [], [list.groups[0]?.id ?? ''])],
];

const groups = (...specs: [string, number][]): GroupSpec[] => specs.map(([id, weight]) => ({ id, weight }));

describe.each(builders)('%s rejects a bad group list', (_name, build) => {
  it('with no groups', () => {
    expectInvalidArgument(() => build({ version: 1n, groups: [] }), 'groups');
  });

  it('with more than groupsMax groups', () => {
    const many = Array.from({ length: groupsMax + 1 }, (_, index) => ({ id: `g${index}`, weight: 1 }));
    expectInvalidArgument(() => build({ version: 1n, groups: many }), 'groups');
  });

  it('with a duplicate id, naming both entries', () => {
    const message = expectInvalidArgument(
      () => build({ version: 1n, groups: groups(['a', 1], ['b', 1], ['a', 2]) }),
      'groups[2].id',
    );
    expect(message).toContain('groups[0].id');
  });

  it.each([[''], ['x'.repeat(groupIdLengthMax + 1)]])('with id %j', (id) => {
    expectInvalidArgument(() => build({ version: 1n, groups: groups(['a', 1], [id, 1]) }), 'groups[1].id');
  });

  it.each([[0], [1001], [1.5], [-1], [Number.NaN]])('with weight %p', (weight) => {
    expectInvalidArgument(() => build({ version: 1n, groups: groups(['a', 1], ['b', weight]) }), 'groups[1].weight');
  });

  it.each([[-1n], [1n << 64n]])('with version %p', (version) => {
    expectInvalidArgument(() => build({ version, groups: groups(['a', 1]) }), 'version');
  });
});

describe('validGroupsInIdOrder', () => {
  it('accepts the bounds: weights 1 and 1000, an id of groupIdLengthMax characters, version 2^64 - 1', () => {
    const longId = 'x'.repeat(groupIdLengthMax);
    const valid = validGroupsInIdOrder({ version: (1n << 64n) - 1n, groups: groups(['a', 1], [longId, 1000]) });
    expect(valid.map((group) => group.id)).toEqual(['a', longId]);
  });

  it('sorts by id in code point order and leaves the input untouched', () => {
    const input = groups(['\u{1F600}', 1], ['\uE000', 2], ['b', 3], ['a', 4]);
    const sorted = validGroupsInIdOrder({ version: 0n, groups: input });
    expect(sorted.map((group) => group.id)).toEqual(['a', 'b', '\uE000', '\u{1F600}']);
    expect(sorted.map((group) => group.weight)).toEqual([4, 3, 2, 1]);
    expect(input[0]?.id).toBe('\u{1F600}');
  });
});

import fc from 'fast-check';
import { expectInvalidArgument } from '@bulwark/errors/testing';
import { compareCodePoints } from './code-point-order';
import { RangePartitioner, splitPointsMax } from './range-partitioner';

const groupList = (version = 1n) => ({
  version,
  groups: ['a', 'b', 'c'].map((id) => ({ id, weight: 1 })),
});

/** Linear scan: the owner of the last range whose start (a split point) is <= key. */
function lookupByModel(splitPoints: readonly string[], owners: readonly string[], key: string): string {
  const rangeIndex = splitPoints.filter((splitPoint) => compareCodePoints(splitPoint, key) <= 0).length;
  return owners[rangeIndex] as string;
}

const anyKey = fc.string({ unit: 'binary', maxLength: 4 });
const groupId = fc.constantFrom('a', 'b', 'c');

/** Sorted, distinct, non-empty split points with an owner for each range. */
const layout = fc
  .uniqueArray(fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }), { maxLength: 12 })
  .map((splitPoints) => splitPoints.sort(compareCodePoints))
  .chain((splitPoints) =>
    fc.record({
      splitPoints: fc.constant(splitPoints),
      owners: fc.array(groupId, { minLength: splitPoints.length + 1, maxLength: splitPoints.length + 1 }),
    }),
  );

/** Keys to probe a layout with: random ones plus every split point itself, where ranges begin. */
const probes = (splitPoints: readonly string[], keys: readonly string[]) => ['', ...splitPoints, ...keys];

describe('RangePartitioner lookup', () => {
  it('agrees with a linear scan of the split points, split points included (300 runs)', () => {
    fc.assert(
      fc.property(layout, fc.array(anyKey, { maxLength: 20 }), ({ splitPoints, owners }, keys) => {
        const partitioner = new RangePartitioner(groupList(), splitPoints, owners);
        for (const key of probes(splitPoints, keys)) {
          expect(partitioner.lookup(key)).toBe(lookupByModel(splitPoints, owners, key));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('puts a split point in the range it starts', () => {
    const partitioner = new RangePartitioner(groupList(), ['g', 'p'], ['a', 'b', 'c']);
    expect(['', 'f', 'fzzz'].map((key) => partitioner.lookup(key))).toEqual(['a', 'a', 'a']);
    expect(['g', 'g0', 'oz'].map((key) => partitioner.lookup(key))).toEqual(['b', 'b', 'b']);
    expect(['p', 'zzz', '\u{1F600}'].map((key) => partitioner.lookup(key))).toEqual(['c', 'c', 'c']);
    expect(partitioner.rangeIndexOf('p')).toBe(2);
  });

  it('keeps its own copy of the split points and owners', () => {
    const splitPoints = ['m'];
    const owners = ['a', 'b'];
    const partitioner = new RangePartitioner(groupList(), splitPoints, owners);
    splitPoints[0] = 'x';
    owners[1] = 'c';
    expect(partitioner.lookup('n')).toBe('b');
  });
});

describe('RangePartitioner splitAt and mergeAt', () => {
  it('splitAt gives [key, end of its range) to rightOwner and leaves every other key in place (300 runs)', () => {
    fc.assert(
      fc.property(layout, anyKey, groupId, fc.array(anyKey, { maxLength: 20 }), (current, at, rightOwner, keys) => {
        fc.pre(at.length > 0 && !current.splitPoints.includes(at));
        const before = new RangePartitioner(groupList(5n), current.splitPoints, current.owners);
        const after = before.splitAt(at, rightOwner);
        expect(after.version).toBe(6n);
        expect(after.splitPoints).toEqual([...current.splitPoints, at].sort(compareCodePoints));
        const splitRange = before.rangeIndexOf(at);
        for (const key of probes(after.splitPoints, keys)) {
          const movesRight = before.rangeIndexOf(key) === splitRange && compareCodePoints(key, at) >= 0;
          expect(after.lookup(key)).toBe(movesRight ? rightOwner : before.lookup(key));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('splitAt without an owner moves no key, and mergeAt of the same point restores the layout (300 runs)', () => {
    fc.assert(
      fc.property(layout, anyKey, fc.array(anyKey, { maxLength: 20 }), (current, at, keys) => {
        fc.pre(at.length > 0 && !current.splitPoints.includes(at));
        const before = new RangePartitioner(groupList(), current.splitPoints, current.owners);
        const split = before.splitAt(at);
        for (const key of probes(split.splitPoints, keys)) {
          expect(split.lookup(key)).toBe(before.lookup(key));
        }
        const merged = split.mergeAt(at);
        expect(merged.splitPoints).toEqual(before.splitPoints);
        expect(merged.owners).toEqual(before.owners);
        expect(merged.version).toBe(before.version + 2n);
      }),
      { numRuns: 300 },
    );
  });

  it('mergeAt gives the joined range to owner, or to the left range owner by default', () => {
    const partitioner = new RangePartitioner(groupList(), ['g', 'p'], ['a', 'b', 'c']);
    const toLeftOwner = partitioner.mergeAt('p');
    expect(toLeftOwner.splitPoints).toEqual(['g']);
    expect(toLeftOwner.owners).toEqual(['a', 'b']);
    const toC = partitioner.mergeAt('g', 'c');
    expect(toC.owners).toEqual(['c', 'c']);
    expect(['a', 'h', 'q'].map((key) => toC.lookup(key))).toEqual(['c', 'c', 'c']);
    expect(partitioner.splitPoints).toEqual(['g', 'p']);
  });

  it('rejects splitting at an existing split point or the empty key, and an unknown owner', () => {
    const partitioner = new RangePartitioner(groupList(), ['g'], ['a', 'b']);
    expectInvalidArgument(() => partitioner.splitAt('g'), 'key');
    expectInvalidArgument(() => partitioner.splitAt(''), 'key');
    expectInvalidArgument(() => partitioner.splitAt('k', 'z'), 'rightOwner');
  });

  it('rejects merging at a key that is not a split point, and an unknown owner', () => {
    const partitioner = new RangePartitioner(groupList(), ['g'], ['a', 'b']);
    expectInvalidArgument(() => partitioner.mergeAt('h'), 'splitPoint');
    expectInvalidArgument(() => partitioner.mergeAt(''), 'splitPoint');
    expectInvalidArgument(() => partitioner.mergeAt('g', 'z'), 'owner');
  });
});

describe('RangePartitioner rejects a bad layout', () => {
  it('with unsorted split points', () => {
    const message = expectInvalidArgument(
      () => new RangePartitioner(groupList(), ['m', 'c'], ['a', 'b', 'c']),
      'splitPoints[1]',
    );
    expect(message).toContain('sorts before');
  });

  it('with duplicate split points', () => {
    const message = expectInvalidArgument(
      () => new RangePartitioner(groupList(), ['c', 'c'], ['a', 'b', 'c']),
      'splitPoints[1]',
    );
    expect(message).toContain('duplicates');
  });

  it('with split points sorted by UTF-16 code unit but not by code point', () => {
    expectInvalidArgument(
      () => new RangePartitioner(groupList(), ['\u{1F600}', '\uE000'], ['a', 'b', 'c']),
      'splitPoints[1]',
    );
    expect(new RangePartitioner(groupList(), ['\uE000', '\u{1F600}'], ['a', 'b', 'c']).lookup('\u{1F601}')).toBe('c');
  });

  it('with an empty split point', () => {
    expectInvalidArgument(() => new RangePartitioner(groupList(), [''], ['a', 'b']), 'splitPoints[0]');
  });

  it('with more than splitPointsMax split points', () => {
    const splitPoints = Array.from({ length: splitPointsMax + 1 }, (_, index) => `k${String(index).padStart(6, '0')}`);
    const owners = Array.from({ length: splitPointsMax + 2 }, () => 'a');
    expectInvalidArgument(() => new RangePartitioner(groupList(), splitPoints, owners), 'splitPoints');
  });

  it('with an owner count that does not match the ranges', () => {
    expectInvalidArgument(() => new RangePartitioner(groupList(), ['m'], ['a']), 'owners');
    expectInvalidArgument(() => new RangePartitioner(groupList(), ['m'], ['a', 'b', 'c']), 'owners');
  });

  it('with an owner that is not in the group list', () => {
    expectInvalidArgument(() => new RangePartitioner(groupList(), ['m'], ['a', 'zeta']), 'owners[1]');
  });
});

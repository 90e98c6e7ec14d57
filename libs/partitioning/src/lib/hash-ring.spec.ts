import { xxh32 } from '@node-rs/xxhash';
import fc from 'fast-check';
import { expectInvalidArgument } from '@bulwark/errors/testing';
import { compareCodePoints } from './code-point-order';
import { defaultVirtualNodesPerWeight, HashRing, ringPointsMax, virtualNodesPerWeightMax } from './hash-ring';
import { countKeysByGroup, peakToMeanLoad } from './key-distribution';
import type { GroupSpec } from './partitioner';

const ringSpace = 2 ** 32;

/**
 * The placement rule written out the slow, obvious way, straight on XXH32:
 * virtual node i of a group sits at xxh32("<id>#<i>"), and a key belongs to
 * the point the shortest clockwise distance from xxh32(key), the smaller
 * group id (in code point order) winning a tie.
 */
function lookupByModel(groups: readonly GroupSpec[], virtualNodesPerWeight: number, key: string): string {
  const keyHash = xxh32(key, 0);
  let best: { distance: number; groupId: string } | undefined;
  for (const group of groups) {
    for (let virtualNode = 0; virtualNode < group.weight * virtualNodesPerWeight; virtualNode++) {
      const distance = (xxh32(`${group.id}#${virtualNode}`, 0) - keyHash + ringSpace) % ringSpace;
      const closer = best === undefined || distance < best.distance;
      const tieWon = best !== undefined && distance === best.distance && compareCodePoints(group.id, best.groupId) < 0;
      if (closer || tieWon) best = { distance, groupId: group.id };
    }
  }
  if (best === undefined) throw new Error('the model needs at least one point');
  return best.groupId;
}

const groupListArbitrary = (maxGroups: number, maxWeight: number) =>
  fc.uniqueArray(
    fc.record({
      id: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
      weight: fc.integer({ min: 1, max: maxWeight }),
    }),
    { minLength: 1, maxLength: maxGroups, selector: (group) => group.id },
  );

const sampleKeys = (count: number, prefix = 'key') => Array.from({ length: count }, (_, index) => `${prefix}-${index}`);

describe('HashRing lookup', () => {
  it('agrees with the reference model on small rings (300 runs, 20 random keys and the first point of each group)', () => {
    fc.assert(
      fc.property(
        groupListArbitrary(5, 3),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { minLength: 20, maxLength: 20 }),
        (groups, virtualNodesPerWeight, keys) => {
          const ring = new HashRing({ version: 1n, groups }, { virtualNodesPerWeight });
          // A point's own label hashes exactly onto the point: the "at" of "at or after".
          const pointLabels = groups.map((group) => `${group.id}#0`);
          for (const key of [...keys, ...pointLabels]) {
            expect(ring.lookup(key)).toBe(lookupByModel(groups, virtualNodesPerWeight, key));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('wraps past the last point to the first one', () => {
    const groups = [
      { id: 'a', weight: 1 },
      { id: 'b', weight: 1 },
    ];
    const ring = new HashRing({ version: 1n, groups }, { virtualNodesPerWeight: 1 });
    const lastPoint = Math.max(xxh32('a#0', 0), xxh32('b#0', 0));
    const firstPointOwner = xxh32('a#0', 0) < xxh32('b#0', 0) ? 'a' : 'b';
    const keyAfterLastPoint = sampleKeys(1000).find((key) => xxh32(key, 0) > lastPoint);
    expect(keyAfterLastPoint).toBeDefined();
    expect(ring.lookup(keyAfterLastPoint as string)).toBe(firstPointOwner);
  });

  it('gives a point shared by two groups to the smaller id, in whatever order the groups are listed', () => {
    // Found by brute force: the only points of these two groups collide.
    expect(xxh32('tie-4696#0', 0)).toBe(xxh32('tie-13866#0', 0));
    const tied = [
      { id: 'tie-4696', weight: 1 },
      { id: 'tie-13866', weight: 1 },
    ];
    for (const groups of [tied, [...tied].reverse()]) {
      const ring = new HashRing({ version: 1n, groups }, { virtualNodesPerWeight: 1 });
      for (const key of sampleKeys(100)) {
        expect(ring.lookup(key)).toBe('tie-13866');
      }
    }
  });

  it('does not depend on the order the groups are listed in (50 runs, 1,000 keys each)', () => {
    fc.assert(
      fc.property(
        groupListArbitrary(6, 3).chain((groups) =>
          fc.tuple(fc.constant(groups), fc.shuffledSubarray(groups, { minLength: groups.length })),
        ),
        fc.integer({ min: 1, max: 64 }),
        ([groups, shuffled], virtualNodesPerWeight) => {
          const ring = new HashRing({ version: 1n, groups }, { virtualNodesPerWeight });
          const shuffledRing = new HashRing({ version: 1n, groups: shuffled }, { virtualNodesPerWeight });
          expect(shuffledRing.groupIds).toEqual(ring.groupIds);
          for (const key of sampleKeys(1000)) {
            expect(shuffledRing.lookup(key)).toBe(ring.lookup(key));
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('HashRing construction', () => {
  it('puts weight * virtualNodesPerWeight points per group and keeps the version', () => {
    const groups = [
      { id: 'a', weight: 1 },
      { id: 'b', weight: 3 },
    ];
    expect(new HashRing({ version: 9n, groups }).pointCount).toBe(4 * defaultVirtualNodesPerWeight);
    const ring = new HashRing({ version: 9n, groups }, { virtualNodesPerWeight: 10 });
    expect(ring.pointCount).toBe(40);
    expect(ring.version).toBe(9n);
    expect(ring.virtualNodesPerWeight).toBe(10);
  });

  it.each([[0], [virtualNodesPerWeightMax + 1], [2.5]])('rejects virtualNodesPerWeight %p', (virtualNodesPerWeight) => {
    expectInvalidArgument(
      () => new HashRing({ version: 1n, groups: [{ id: 'a', weight: 1 }] }, { virtualNodesPerWeight }),
      'virtualNodesPerWeight',
    );
  });

  it('accepts exactly ringPointsMax points and rejects one weight unit more', () => {
    const virtualNodesPerWeight = ringPointsMax / 1024;
    const atLimit = [
      { id: 'a', weight: 1000 },
      { id: 'b', weight: 24 },
    ];
    expect(new HashRing({ version: 1n, groups: atLimit }, { virtualNodesPerWeight }).pointCount).toBe(ringPointsMax);
    const overLimit = [
      { id: 'a', weight: 1000 },
      { id: 'b', weight: 25 },
    ];
    const message = expectInvalidArgument(
      () => new HashRing({ version: 1n, groups: overLimit }, { virtualNodesPerWeight }),
      'groups',
    );
    expect(message).toContain('ringPointsMax');
  });
});

describe('HashRing load', () => {
  const keys = sampleKeys(100_000);

  it('keeps the most loaded of 3 to 10 equal groups within 1.10x the mean with the default virtual nodes (25 runs, 100k keys)', () => {
    const ids = fc.uniqueArray(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }), {
      minLength: 3,
      maxLength: 10,
    });
    fc.assert(
      fc.property(ids, (groupIds) => {
        const ring = new HashRing({ version: 1n, groups: groupIds.map((id) => ({ id, weight: 1 })) });
        expect(peakToMeanLoad(countKeysByGroup(ring, keys))).toBeLessThanOrEqual(1.1);
      }),
      { numRuns: 25 },
    );
  });

  it('gives each group a share of keys within 10% of its share of the weight (20 runs, 200k keys)', () => {
    const weightedKeys = sampleKeys(200_000, 'weighted');
    fc.assert(
      fc.property(groupListArbitrary(6, 3), (groups) => {
        const ring = new HashRing({ version: 1n, groups });
        const counts = countKeysByGroup(ring, weightedKeys);
        const totalWeight = groups.reduce((sum, group) => sum + group.weight, 0);
        for (const group of groups) {
          const expected = (weightedKeys.length * group.weight) / totalWeight;
          expect(Math.abs((counts.get(group.id) ?? 0) / expected - 1)).toBeLessThanOrEqual(0.1);
        }
      }),
      { numRuns: 20 },
    );
  });
});

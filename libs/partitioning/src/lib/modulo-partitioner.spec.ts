import { xxh32 } from '@node-rs/xxhash';
import fc from 'fast-check';
import { compareCodePoints } from './code-point-order';
import { countKeysByGroup, peakToMeanLoad } from './key-distribution';
import { ModuloPartitioner } from './modulo-partitioner';

describe('ModuloPartitioner', () => {
  it('maps a key to groups-in-id-order[xxh32(key) mod n], whatever the listed order and weights (200 runs)', () => {
    const groups = fc.uniqueArray(
      fc.record({
        id: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
        weight: fc.integer({ min: 1, max: 1000 }),
      }),
      { minLength: 1, maxLength: 12, selector: (group) => group.id },
    );
    fc.assert(
      fc.property(groups, fc.array(fc.string({ unit: 'binary' }), { minLength: 10, maxLength: 10 }), (list, keys) => {
        const partitioner = new ModuloPartitioner({ version: 3n, groups: list });
        const idsInOrder = list.map((group) => group.id).sort(compareCodePoints);
        expect(partitioner.version).toBe(3n);
        expect(partitioner.groupIds).toEqual(idsInOrder);
        for (const key of keys) {
          expect(partitioner.lookup(key)).toBe(idsInOrder[xxh32(key, 0) % idsInOrder.length]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('spreads 100k keys over 10 groups with the most loaded under 1.03x the mean', () => {
    const groups = Array.from({ length: 10 }, (_, index) => ({ id: `group-${index}`, weight: 1 }));
    const partitioner = new ModuloPartitioner({ version: 1n, groups });
    const keys = Array.from({ length: 100_000 }, (_, index) => `key-${index}`);
    expect(peakToMeanLoad(countKeysByGroup(partitioner, keys))).toBeLessThan(1.03);
  });
});

import fc from 'fast-check';
import { HashRing } from './hash-ring';
import { movedKeyFraction } from './key-distribution';
import { ModuloPartitioner } from './modulo-partitioner';
import type { GroupSpec } from './partitioner';

// What a change of the group list costs: the fraction of keys that must move
// to another group. n groups and the id of one more, all distinct.
const growingGroupList = fc
  .uniqueArray(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }), { minLength: 4, maxLength: 11 })
  .map((ids) => ({
    groups: ids.slice(1).map((id): GroupSpec => ({ id, weight: 1 })),
    added: { id: ids[0] as string, weight: 1 },
  }));

const keys = Array.from({ length: 20_000 }, (_, index) => `moving-${index}`);

describe('key movement when one group joins n (3 to 10) equal groups', () => {
  it('moves about 1/(n+1) of the keys with the hash ring, all of them to the new group (30 runs, 20k keys)', () => {
    fc.assert(
      fc.property(growingGroupList, ({ groups, added }) => {
        const before = new HashRing({ version: 1n, groups });
        const after = new HashRing({ version: 2n, groups: [...groups, added] });
        const ideal = 1 / (groups.length + 1);
        expect(Math.abs(movedKeyFraction(before, after, keys) / ideal - 1)).toBeLessThanOrEqual(0.2);
        const destinations = new Set(
          keys.filter((key) => after.lookup(key) !== before.lookup(key)).map((key) => after.lookup(key)),
        );
        expect(destinations).toEqual(new Set([added.id]));
      }),
      { numRuns: 30 },
    );
  });

  it('moves at least 80% of n/(n+1) of the keys with modulo (30 runs, 20k keys)', () => {
    fc.assert(
      fc.property(growingGroupList, ({ groups, added }) => {
        const before = new ModuloPartitioner({ version: 1n, groups });
        const after = new ModuloPartitioner({ version: 2n, groups: [...groups, added] });
        const n = groups.length;
        expect(movedKeyFraction(before, after, keys)).toBeGreaterThanOrEqual((0.8 * n) / (n + 1));
      }),
      { numRuns: 30 },
    );
  });

  it('moves only the keys of a group that leaves the hash ring (30 runs, 20k keys)', () => {
    fc.assert(
      fc.property(growingGroupList, ({ groups, added }) => {
        const before = new HashRing({ version: 1n, groups: [...groups, added] });
        const after = new HashRing({ version: 2n, groups });
        const movedFrom = new Set(
          keys.filter((key) => after.lookup(key) !== before.lookup(key)).map((key) => before.lookup(key)),
        );
        expect(movedFrom).toEqual(new Set([added.id]));
      }),
      { numRuns: 30 },
    );
  });
});

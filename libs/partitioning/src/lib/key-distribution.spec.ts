import { expectInvalidArgument } from '@bulwark/errors/testing';
import { countKeysByGroup, movedKeyFraction, peakToMeanLoad } from './key-distribution';
import type { Partitioner } from './partitioner';

/** Sends a key to the group named by its first character. */
const byFirstCharacter = (groupIds: string[]): Partitioner => ({
  version: 1n,
  groupIds,
  lookup: (key) => key.charAt(0),
});

describe('key distribution', () => {
  it('counts keys per group, with zero for a group that owns none', () => {
    const counts = countKeysByGroup(byFirstCharacter(['a', 'b', 'c']), ['a1', 'a2', 'b1']);
    expect([...counts]).toEqual([
      ['a', 2],
      ['b', 1],
      ['c', 0],
    ]);
  });

  it('peakToMeanLoad divides the largest count by the mean over all groups', () => {
    expect(
      peakToMeanLoad(
        new Map([
          ['a', 2],
          ['b', 1],
          ['c', 0],
        ]),
      ),
    ).toBe(2);
    expect(peakToMeanLoad(new Map([['a', 5]]))).toBe(1);
    expectInvalidArgument(() => peakToMeanLoad(new Map([['a', 0]])), 'countsByGroup');
  });

  it('movedKeyFraction counts the keys whose group differs', () => {
    const before = byFirstCharacter(['a', 'b']);
    const after: Partitioner = {
      version: 2n,
      groupIds: ['a', 'b'],
      lookup: (key) => (key === 'a2' ? 'b' : key.charAt(0)),
    };
    expect(movedKeyFraction(before, after, ['a1', 'a2', 'b1', 'b2'])).toBe(0.25);
    expect(movedKeyFraction(before, before, ['a1'])).toBe(0);
    expectInvalidArgument(() => movedKeyFraction(before, after, []), 'keys');
  });
});

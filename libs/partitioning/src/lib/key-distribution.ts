import { InvalidArgumentError } from '@bulwark/errors';
import type { Partitioner } from './partitioner';

// Measurements that compare partitioners (tests and the bench use them): how
// evenly a partitioner spreads a sample of keys and how many keys a change of
// partitioner moves.

/** How many of keys each group of the partitioner owns, with a zero for groups that own none. */
export function countKeysByGroup(partitioner: Partitioner, keys: Iterable<string>): Map<string, number> {
  const counts = new Map(partitioner.groupIds.map((id) => [id, 0]));
  for (const key of keys) {
    const groupId = partitioner.lookup(key);
    counts.set(groupId, (counts.get(groupId) ?? 0) + 1);
  }
  return counts;
}

/** The most keys any group holds divided by the mean per group: 1 is perfectly even. */
export function peakToMeanLoad(countsByGroup: ReadonlyMap<string, number>): number {
  const counts = [...countsByGroup.values()];
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) {
    throw new InvalidArgumentError('countsByGroup', 'must count at least one key');
  }
  return Math.max(...counts) / (total / counts.length);
}

/** The fraction of keys that before and after map to different groups. */
export function movedKeyFraction(before: Partitioner, after: Partitioner, keys: readonly string[]): number {
  if (keys.length === 0) {
    throw new InvalidArgumentError('keys', 'must hold at least one key');
  }
  let moved = 0;
  for (const key of keys) {
    if (before.lookup(key) !== after.lookup(key)) moved++;
  }
  return moved / keys.length;
}

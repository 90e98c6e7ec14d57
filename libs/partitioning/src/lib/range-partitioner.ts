import { InvalidArgumentError } from '@bulwark/errors';
import { compareCodePoints } from './code-point-order';
import { validGroupsInIdOrder } from './group-list';
import type { GroupList, GroupSpec, Partitioner } from './partitioner';

/** Most split points one layout may hold (so at most splitPointsMax + 1 ranges). */
export const splitPointsMax = 65_536;

/**
 * Range partitioning: sorted split points cut the key space (in code point
 * order) into ranges, each owned by one group. Range i holds the keys k with
 * splitPoints[i - 1] <= k < splitPoints[i]; the first range starts at the
 * empty key and the last one has no end. Keeps neighbouring keys together (a
 * prefix scan touches few groups) and lets a hot range be split and moved
 * without touching others. Weights are ignored. splitAt and mergeAt return a
 * new partitioner one version higher.
 */
export class RangePartitioner implements Partitioner {
  readonly version: bigint;
  readonly groupIds: readonly string[];
  /** Strictly ascending in code point order, none empty. */
  readonly splitPoints: readonly string[];
  /** owners[i] is the id of the group that owns range i; one more entry than splitPoints. */
  readonly owners: readonly string[];
  private readonly groups: readonly GroupSpec[];

  constructor(list: GroupList, splitPoints: readonly string[], owners: readonly string[]) {
    this.groups = validGroupsInIdOrder(list);
    this.groupIds = this.groups.map((group) => group.id);
    checkSplitPoints(splitPoints);
    checkOwners(owners, splitPoints.length + 1, new Set(this.groupIds));
    this.version = list.version;
    this.splitPoints = [...splitPoints];
    this.owners = [...owners];
  }

  lookup(key: string): string {
    // rangeIndexOf returns 0..splitPoints.length, and owners has one entry more.
    return this.owners[this.rangeIndexOf(key)] as string;
  }

  /** The index of the range that holds key: how many split points are <= key, found by binary search. */
  rangeIndexOf(key: string): number {
    let low = 0;
    let high = this.splitPoints.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareCodePoints(this.splitPoints[middle] as string, key) <= 0) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  /**
   * Splits the range holding key into [its start, key) and [key, its end).
   * The left part keeps the owner; the right part goes to rightOwner, or
   * stays with the same owner when it is absent (a split that moves no keys).
   */
  splitAt(key: string, rightOwner?: string): RangePartitioner {
    if (key.length === 0) {
      throw new InvalidArgumentError('key', 'must not be empty: the first range already starts at the empty key');
    }
    this.checkGroupId('rightOwner', rightOwner);
    const range = this.rangeIndexOf(key);
    if (range > 0 && this.splitPoints[range - 1] === key) {
      throw new InvalidArgumentError('key', `'${key}' is already a split point`);
    }
    const owner = this.owners[range] as string;
    const splitPoints = [...this.splitPoints];
    splitPoints.splice(range, 0, key);
    const owners = [...this.owners];
    owners.splice(range + 1, 0, rightOwner ?? owner);
    return new RangePartitioner(this.nextGroupList(), splitPoints, owners);
  }

  /**
   * Removes splitPoint, joining the two ranges it separates. The joined range
   * goes to owner, or to the left range's owner when it is absent (which moves
   * the right range's keys if the two owners differ).
   */
  mergeAt(splitPoint: string, owner?: string): RangePartitioner {
    const rightRange = this.rangeIndexOf(splitPoint);
    if (rightRange === 0 || this.splitPoints[rightRange - 1] !== splitPoint) {
      throw new InvalidArgumentError('splitPoint', `'${splitPoint}' is not a split point`);
    }
    this.checkGroupId('owner', owner);
    const leftRange = rightRange - 1;
    const splitPoints = [...this.splitPoints];
    splitPoints.splice(leftRange, 1);
    const owners = [...this.owners];
    owners.splice(leftRange, 2, owner ?? (this.owners[leftRange] as string));
    return new RangePartitioner(this.nextGroupList(), splitPoints, owners);
  }

  private checkGroupId(field: string, groupId: string | undefined): void {
    if (groupId !== undefined && !this.groupIds.includes(groupId)) {
      throw new InvalidArgumentError(field, `'${groupId}' is not a group in the list`);
    }
  }

  private nextGroupList(): GroupList {
    return { version: this.version + 1n, groups: this.groups };
  }
}

function checkSplitPoints(splitPoints: readonly string[]): void {
  if (splitPoints.length > splitPointsMax) {
    throw new InvalidArgumentError(
      'splitPoints',
      `lists ${splitPoints.length} split points, more than splitPointsMax ${splitPointsMax}`,
    );
  }
  splitPoints.forEach((splitPoint, index) => {
    if (typeof splitPoint !== 'string' || splitPoint.length === 0) {
      // The empty key sorts before every other key, so it would begin an empty first range.
      throw new InvalidArgumentError(`splitPoints[${index}]`, 'must be a non-empty string');
    }
    if (index === 0) return;
    const order = compareCodePoints(splitPoints[index - 1] as string, splitPoint);
    if (order === 0) {
      throw new InvalidArgumentError(`splitPoints[${index}]`, `duplicates splitPoints[${index - 1}] '${splitPoint}'`);
    }
    if (order > 0) {
      throw new InvalidArgumentError(`splitPoints[${index}]`, `'${splitPoint}' sorts before splitPoints[${index - 1}]`);
    }
  });
}

function checkOwners(owners: readonly string[], rangeCount: number, groupIds: ReadonlySet<string>): void {
  if (owners.length !== rangeCount) {
    throw new InvalidArgumentError('owners', `must name one group per range: ${rangeCount}, got ${owners.length}`);
  }
  owners.forEach((owner, index) => {
    if (!groupIds.has(owner)) {
      throw new InvalidArgumentError(`owners[${index}]`, `'${String(owner)}' is not a group in the list`);
    }
  });
}

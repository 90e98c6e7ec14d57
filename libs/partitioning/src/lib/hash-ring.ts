import { InvalidArgumentError } from '@bulwark/errors';
import { groupsMax, validGroupsInIdOrder } from './group-list';
import { hashKey, keyPlacementHash } from './key-hash';
import type { GroupList, Partitioner } from './partitioner';

/**
 * Points each unit of weight puts on the ring unless told otherwise. A group
 * with p points among n equal groups owns a share of the ring whose relative
 * standard deviation is about sqrt((n - 1) / (n * p)): 1.5% at p = 4096, so
 * the most loaded of 3 to 10 equal weight-1 groups stays under 1.10 times the
 * mean by more than five standard deviations, even counted over a sample of
 * 100k keys (which adds about 1%). 1024 points would exceed 1.10 for about one
 * ring in a hundred. hash-ring.spec.ts checks the bound; the bench prints the
 * spread for other counts.
 */
export const defaultVirtualNodesPerWeight = 4096;
export const virtualNodesPerWeightMax = 16_384;
/** Bounds the ring's memory (6 bytes a point, 14 while building) and build time (one hash a point). */
export const ringPointsMax = 1 << 20;

export interface HashRingOptions {
  /** Points per unit of weight, 1 to virtualNodesPerWeightMax; defaultVirtualNodesPerWeight when absent. */
  readonly virtualNodesPerWeight?: number;
}

/**
 * Consistent hashing with virtual nodes: a group of weight w puts
 * w * virtualNodesPerWeight points on a 32-bit ring, and a key belongs to the
 * group of the first point at or after the key's hash (wrapping around);
 * keys with a hash tag are hashed by their tag (see hashTagOf).
 * Adding or removing a group moves only the keys on the arcs its points gain
 * or lose. Point positions depend only on group ids, weights and
 * virtualNodesPerWeight, so every process builds the same ring.
 */
export class HashRing implements Partitioner {
  readonly version: bigint;
  readonly groupIds: readonly string[];
  readonly virtualNodesPerWeight: number;
  /** Point positions on the ring, ascending. */
  private readonly positions: Uint32Array;
  /** For each point, the index in groupIds of the group it belongs to. */
  private readonly owners: Uint16Array;

  constructor(list: GroupList, options: HashRingOptions = {}) {
    const groups = validGroupsInIdOrder(list);
    const virtualNodesPerWeight = options.virtualNodesPerWeight ?? defaultVirtualNodesPerWeight;
    if (
      !Number.isInteger(virtualNodesPerWeight) ||
      virtualNodesPerWeight < 1 ||
      virtualNodesPerWeight > virtualNodesPerWeightMax
    ) {
      throw new InvalidArgumentError(
        'virtualNodesPerWeight',
        `must be an integer from 1 to ${virtualNodesPerWeightMax}, got ${String(virtualNodesPerWeight)}`,
      );
    }
    const pointCount = groups.reduce((sum, group) => sum + group.weight * virtualNodesPerWeight, 0);
    if (pointCount > ringPointsMax) {
      throw new InvalidArgumentError(
        'groups',
        `would put ${pointCount} points on the ring, more than ringPointsMax ${ringPointsMax}; lower the weights or virtualNodesPerWeight`,
      );
    }

    // Each point is packed as position * groupsMax + group index into one
    // float64 (below 2^42, so exact), which a typed array sorts numerically
    // and fast. Points that collide on a position then sort by group id, so
    // the group with the smaller id wins the tie in every process.
    const packedPoints = new Float64Array(pointCount);
    let next = 0;
    groups.forEach((group, groupIndex) => {
      for (let virtualNode = 0; virtualNode < group.weight * virtualNodesPerWeight; virtualNode++) {
        packedPoints[next++] = pointPosition(group.id, virtualNode) * groupsMax + groupIndex;
      }
    });
    packedPoints.sort();

    this.positions = new Uint32Array(pointCount);
    this.owners = new Uint16Array(pointCount);
    packedPoints.forEach((packed, point) => {
      this.positions[point] = Math.floor(packed / groupsMax);
      this.owners[point] = packed % groupsMax;
    });
    this.version = list.version;
    this.groupIds = groups.map((group) => group.id);
    this.virtualNodesPerWeight = virtualNodesPerWeight;
  }

  get pointCount(): number {
    return this.positions.length;
  }

  lookup(key: string): string {
    const point = this.firstPointAtOrAfter(keyPlacementHash(key));
    // Both indexes are in range by construction: point < pointCount, owners < groupIds.length.
    return this.groupIds[this.owners[point] as number] as string;
  }

  /** Binary search for the first point whose position is >= hash; past the last point the ring wraps to point 0. */
  private firstPointAtOrAfter(hash: number): number {
    let low = 0;
    let high = this.positions.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.positions[middle] as number) < hash) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low === this.positions.length ? 0 : low;
  }
}

/** Where virtual node `virtualNode` of a group sits: the hash of "<id>#<n>", which no other (id, n) pair spells. */
function pointPosition(groupId: string, virtualNode: number): number {
  return hashKey(`${groupId}#${virtualNode}`);
}

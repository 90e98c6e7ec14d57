import { validGroupsInIdOrder } from './group-list';
import { keyPlacementHash } from './key-hash';
import type { GroupList, Partitioner } from './partitioner';

/**
 * hash(key) mod n over the groups in id order. Even and cheap, but adding a
 * group to n remaps about n/(n+1) of all keys (only keys whose hash gives the
 * same remainder for n and n+1 stay), which is why the router uses the hash
 * ring; this exists to measure that difference. Weights are ignored.
 */
export class ModuloPartitioner implements Partitioner {
  readonly version: bigint;
  readonly groupIds: readonly string[];

  constructor(list: GroupList) {
    this.version = list.version;
    this.groupIds = validGroupsInIdOrder(list).map((group) => group.id);
  }

  lookup(key: string): string {
    // The remainder is below groupIds.length, which is at least 1.
    return this.groupIds[keyPlacementHash(key) % this.groupIds.length] as string;
  }
}

// The hash ring a topology names, as every process builds it: the same
// groups, weights and points per weight give the same ring everywhere.
import type { coordinatorV1 } from '@bulwark/contracts';
import { defaultVirtualNodesPerWeight, HashRing } from '@bulwark/partitioning';

/**
 * The HashRing of ring, or undefined while it holds no group. previous is
 * returned as it is when it was built from the same ring version (building
 * one hashes every virtual node).
 */
export function hashRingOf(ring: coordinatorV1.Ring | undefined, previous?: HashRing): HashRing | undefined {
  if (!ring || ring.groups.length === 0) return undefined;
  if (previous?.version === ring.version) return previous;
  return new HashRing(
    { version: ring.version, groups: ring.groups.map((group) => ({ id: group.groupId, weight: group.weight })) },
    { virtualNodesPerWeight: ring.virtualNodesPerWeight || defaultVirtualNodesPerWeight },
  );
}

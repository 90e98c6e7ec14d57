export type { GroupList, GroupSpec, Partitioner } from './lib/partitioner';
export { groupIdLengthMax, groupsMax, weightMax, weightMin } from './lib/group-list';
export {
  defaultVirtualNodesPerWeight,
  HashRing,
  ringPointsMax,
  virtualNodesPerWeightMax,
  type HashRingOptions,
} from './lib/hash-ring';
export { ModuloPartitioner } from './lib/modulo-partitioner';
export { RangePartitioner, splitPointsMax } from './lib/range-partitioner';
export { compareCodePoints } from './lib/code-point-order';
export { hashKey, hashTagOf, keyPlacementHash } from './lib/key-hash';
export { countKeysByGroup, movedKeyFraction, peakToMeanLoad } from './lib/key-distribution';

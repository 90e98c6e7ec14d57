import {
  compareCodePoints,
  countKeysByGroup,
  defaultVirtualNodesPerWeight,
  HashRing,
  ModuloPartitioner,
  movedKeyFraction,
  peakToMeanLoad,
  RangePartitioner,
  type GroupList,
  type Partitioner,
} from '@bulwark/partitioning';
import { measureOpsPerSecond } from './measure';
import type { BenchTable } from './table';

// Partitioner throughput, and the two numbers that decide between them: how
// evenly they spread keys and how many keys move when a group joins.

const keyCount = 100_000;
const groupCounts = [3, 4, 5, 6, 7, 8, 9, 10];
const virtualNodeCounts = [16, 64, 256, 1024, defaultVirtualNodesPerWeight];
/** Spread depends on where the ids happen to hash, so each cell is the worst of this many id sets. */
const idSetsPerSpreadCell = 3;

export function runPartitioningBench(): BenchTable[] {
  const keys = Array.from({ length: keyCount }, (_, index) => `user:${index}/profile`);
  return [lookupThroughput(keys), keyMovement(keys), spread(keys)];
}

function equalGroups(count: number, idSet = 0): GroupList {
  return {
    version: 1n,
    groups: Array.from({ length: count }, (_, index) => ({ id: `set${idSet}-group-${index}`, weight: 1 })),
  };
}

function lookupThroughput(keys: string[]): BenchTable {
  const rows: (string | number)[][] = [];
  const measure = (name: string, groups: number, virtualNodes: number | string, build: () => Partitioner) => {
    const started = performance.now();
    const partitioner = build();
    const buildMs = performance.now() - started;
    const lookupsPerSecond = measureOpsPerSecond(() => keys.forEach((key) => partitioner.lookup(key)), keys.length);
    rows.push([name, groups, virtualNodes, buildMs, lookupsPerSecond]);
  };
  for (const groups of [3, 10]) {
    for (const virtualNodesPerWeight of [64, 1024, defaultVirtualNodesPerWeight]) {
      measure(
        'hash ring',
        groups,
        virtualNodesPerWeight,
        () => new HashRing(equalGroups(groups), { virtualNodesPerWeight }),
      );
    }
  }
  measure('modulo', 10, '-', () => new ModuloPartitioner(equalGroups(10)));
  const ranges = evenRanges(equalGroups(10), keys);
  measure('range', 10, '-', () => new RangePartitioner(equalGroups(10), ranges.splitPoints, ranges.owners));
  return {
    title: `Partitioner lookups (${keyCount / 1000}k distinct keys)`,
    columns: ['partitioner', 'groups', 'virtual nodes/weight', 'build ms', 'lookups/s'],
    rows,
  };
}

/** Split points that cut the sample keys into one even range per group. */
function evenRanges(list: GroupList, keys: string[]): { splitPoints: string[]; owners: string[] } {
  const sorted = [...keys].sort(compareCodePoints);
  const ids = list.groups.map((group) => group.id).sort(compareCodePoints);
  const splitPoints = ids
    .slice(1)
    .map((_, index) => sorted[Math.floor(((index + 1) * sorted.length) / ids.length)] as string);
  return { splitPoints, owners: ids };
}

function keyMovement(keys: string[]): BenchTable {
  const rows = groupCounts.map((groups) => {
    const before = equalGroups(groups);
    const after: GroupList = { version: 2n, groups: [...before.groups, { id: 'joining-group', weight: 1 }] };
    return [
      `${groups} -> ${groups + 1}`,
      1 / (groups + 1),
      movedKeyFraction(new HashRing(before), new HashRing(after), keys),
      movedKeyFraction(new ModuloPartitioner(before), new ModuloPartitioner(after), keys),
    ];
  });
  return {
    title: `Fraction of keys moved when one equal group joins (default ${defaultVirtualNodesPerWeight} virtual nodes)`,
    columns: ['groups', 'ideal 1/(n+1)', 'hash ring', 'modulo'],
    rows,
  };
}

function spread(keys: string[]): BenchTable {
  const rows = groupCounts.map((groups) => [
    groups,
    ...virtualNodeCounts.map((virtualNodesPerWeight) => {
      let worst = 0;
      for (let idSet = 0; idSet < idSetsPerSpreadCell; idSet++) {
        const ring = new HashRing(equalGroups(groups, idSet), { virtualNodesPerWeight });
        worst = Math.max(worst, peakToMeanLoad(countKeysByGroup(ring, keys)));
      }
      return worst;
    }),
  ]);
  return {
    title: `Hash ring spread: most loaded group / mean, worst of ${idSetsPerSpreadCell} id sets (${keyCount / 1000}k keys)`,
    columns: ['groups', ...virtualNodeCounts.map((count) => `${count} vnodes`)],
    rows,
  };
}

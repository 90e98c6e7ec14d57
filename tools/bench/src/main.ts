// `npm run bench`: runs every benchmark and prints its tables. Speed is
// measured here, never asserted in tests.
import { runBalancingBench } from './balancing.bench';
import { runHistoryBench } from './history.bench';
import { runPartitioningBench } from './partitioning.bench';
import { formatTable, type BenchTable } from './table';

const suites: Array<[string, () => BenchTable[]]> = [
  ['partitioning', runPartitioningBench],
  ['balancing', runBalancingBench],
  ['history', runHistoryBench],
];

const only = process.argv[2];
if (only !== undefined && !suites.some(([name]) => name === only)) {
  process.stderr.write(`unknown suite "${only}"; one of ${suites.map(([name]) => name).join(', ')}\n`);
  process.exit(2);
}
process.stdout.write(`Bulwark benchmarks on node ${process.version}\n\n`);
for (const [name, run] of suites) {
  if (only !== undefined && name !== only) continue;
  for (const table of run()) process.stdout.write(`${formatTable(table)}\n\n`);
}

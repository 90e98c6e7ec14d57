// `npm run bench`: runs every benchmark and prints its tables. Speed is
// measured here, never asserted in tests.
import { runBalancingBench } from './balancing.bench';
import { runCompareBench } from './compare.bench';
import { runCoordinatorBench } from './coordinator.bench';
import { runHistoryBench } from './history.bench';
import { runLockBench } from './lock.bench';
import { runMonitorBench } from './monitor.bench';
import { runPartitioningBench } from './partitioning.bench';
import { runReplicaBench } from './replica.bench';
import { runRouterBench } from './router.bench';
import { formatTable, type BenchTable } from './table';

const suites: Array<[string, () => BenchTable[] | Promise<BenchTable[]>]> = [
  ['partitioning', runPartitioningBench],
  ['balancing', runBalancingBench],
  ['history', runHistoryBench],
  ['coordinator', runCoordinatorBench],
  ['replica', runReplicaBench],
  ['router', runRouterBench],
  ['lock', runLockBench],
  ['monitor', runMonitorBench],
];

const only = process.argv[2];
// --compare runs Bulwark beside etcd and Redis (compare.bench.ts); it is not part of a plain run.
const compare: [string, () => Promise<BenchTable[]>] = ['--compare', runCompareBench];
if (only !== undefined && only !== compare[0] && !suites.some(([name]) => name === only)) {
  process.stderr.write(`unknown suite "${only}"; one of ${suites.map(([name]) => name).join(', ')} or --compare\n`);
  process.exit(2);
}
async function main(): Promise<void> {
  process.stdout.write(`Bulwark benchmarks on node ${process.version}\n\n`);
  for (const [name, run] of only === compare[0] ? [compare] : suites) {
    if (only !== undefined && name !== only) continue;
    for (const table of await run()) process.stdout.write(`${formatTable(table)}\n\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${String(error)}\n`);
  process.exit(1);
});

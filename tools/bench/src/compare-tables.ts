// The comparison's tables (compare.bench.ts): one table of cells per
// workload, Bulwark's ratio to its peer in every row (and through the routers
// to straight at the primary), and the failovers with Bulwark's median over
// etcd's.
import { percentile } from './closed-loop';
import type { BenchTable } from './table';

export const inFlightLevels = [1, 16, 64] as const;

/** What a cell measures: a workload on one system, named as the table shows it. */
export interface Variant {
  readonly workload: 'put' | 'get' | 'lock' | 'echo';
  readonly system: 'Bulwark' | 'etcd' | 'Redis' | 'grpc-js echo';
  readonly label: string;
}

export interface CompareCell extends Variant {
  readonly inFlight: number;
  readonly opsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU µs of all the system's server processes per operation. */
  readonly serverCpuUsPerOp: number;
  /** The same, process by process (service name): where the server CPU goes. */
  readonly serverCpuUsPerOpByProcess: Readonly<Record<string, number>>;
  /** CPU µs of the client process (this one) per operation. */
  readonly clientCpuUsPerOp: number;
}

export const putSync = 'Put sync';
export const putSyncDirect = 'Put sync, straight to the primary';
export const getStrong = 'Get STRONG';
export const getStrongDirect = 'Get STRONG, straight to the primary';

/** Bulwark's variant and the peer it is set against, by row of the ratio table. */
const comparisons: readonly (readonly [string, string])[] = [
  [putSync, 'etcd Put'],
  ['Put async', 'etcd Put'],
  [getStrong, 'etcd Range linearizable'],
  ['Get EVENTUAL', 'etcd Range serializable'],
  [putSync, 'Redis SET (appendfsync always)'],
  [getStrong, 'Redis GET'],
  ['lock cycle, distinct locks', 'etcd v3lock, distinct locks'],
  ['lock cycle, one hot lock', 'etcd v3lock, one hot lock'],
  ['lock cycle, distinct locks', 'Redis SET NX PX, distinct locks'],
  ['lock cycle, one hot lock', 'Redis SET NX PX, one hot lock'],
  // What the routers cost: the same operations sent straight to the primary (shard.v1 unary, the same client shape).
  [putSync, putSyncDirect],
  [getStrong, getStrongDirect],
];

/** A system's failovers: kill to first acknowledged write of each kill, and the kills given up on. */
export interface Failovers {
  readonly system: CompareCell['system'];
  readonly ackMs: readonly number[];
  readonly givenUp: number;
}

export function cellTables(cells: readonly CompareCell[]): BenchTable[] {
  const titles = {
    put: 'Writes',
    get: 'Reads',
    lock: 'Lock cycles (acquire, then release)',
    echo: 'The ceiling: a trivial grpc-js call',
  } as const;
  return (['put', 'get', 'lock', 'echo'] as const).map((workload) => ({
    title: `${titles[workload]}: ops/s, latency and server CPU per operation`,
    columns: ['system', 'in flight', 'ops/s', 'p50 ms', 'p99 ms', 'server CPU µs/op'],
    rows: cells
      .filter((cell) => cell.workload === workload)
      .map((cell) => [cell.label, cell.inFlight, cell.opsPerS, cell.p50Ms, cell.p99Ms, cell.serverCpuUsPerOp]),
  }));
}

/** Bulwark over its peer at each in-flight level: above 1 Bulwark is ahead (for CPU: below 1). */
export function ratioTable(cells: readonly CompareCell[]): BenchTable {
  const find = (label: string, inFlight: number) =>
    cells.find((cell) => cell.label === label && cell.inFlight === inFlight);
  const rows = comparisons.flatMap(([ours, theirs]) =>
    inFlightLevels.flatMap((inFlight) => {
      const bulwark = find(ours, inFlight);
      const peer = find(theirs, inFlight);
      if (!bulwark || !peer) return [];
      const ratio = (a: number, b: number) => (b === 0 ? '-' : Number((a / b).toFixed(2)));
      return [
        [
          `${ours} / ${theirs}`,
          inFlight,
          ratio(bulwark.opsPerS, peer.opsPerS),
          ratio(bulwark.p99Ms, peer.p99Ms),
          ratio(bulwark.serverCpuUsPerOp, peer.serverCpuUsPerOp),
        ],
      ];
    }),
  );
  return {
    title:
      'Bulwark / peer, and through the routers / straight to the primary (ops/s: higher is better; p99 and CPU per op: lower is better)',
    columns: ['comparison', 'in flight', 'ops/s', 'p99', 'server CPU/op'],
    rows,
  };
}

export function failoversOf(system: Failovers['system'], ackMs: readonly (number | undefined)[]): Failovers {
  const acknowledged = ackMs.filter((ms): ms is number => ms !== undefined).sort((a, b) => a - b);
  return { system, ackMs: acknowledged, givenUp: ackMs.length - acknowledged.length };
}

/** Kill -9 to the first acknowledged write, each system, and Bulwark's median over etcd's (lower is better). */
export function failoverTable(failovers: readonly Failovers[]): BenchTable {
  const medianOf = (ms: readonly number[]) => percentile(ms, 0.5);
  const etcd = failovers.find((failover) => failover.system === 'etcd');
  return {
    title: 'Failover: kill -9 of the primary (Bulwark) or leader (etcd) to the first acknowledged write',
    columns: ['system', 'kills', 'given up', 'median ms', 'max ms', 'median / etcd'],
    rows: failovers.map(({ system, ackMs, givenUp }) => [
      system,
      ackMs.length + givenUp,
      givenUp,
      Math.round(medianOf(ackMs)),
      Math.round(ackMs[ackMs.length - 1] ?? 0),
      etcd && etcd.ackMs.length > 0 ? Number((medianOf(ackMs) / medianOf(etcd.ackMs)).toFixed(2)) : '-',
    ]),
  };
}

// One replica group of 3 and its 3 coordinators, run by the launcher
// library: Put and Get throughput, latency and CPU per operation through the
// unary methods and the batched Operate stream at 1, 16 and 64 operations in
// flight from one client process, and failover time over repeated SIGKILLs
// of the primary under a writing client.
//
// BULWARK_BENCH_REPLICA_CELL_MS sets how long each cell is measured (5,000 by
// default, after a warm-up of a fifth of that, at most 1 s);
// BULWARK_BENCH_REPLICA_KILLS how many failovers (10 by default).
import { int, loadConfig, type ConfigOf } from '@bulwark/config';
import { kvV1 } from '@bulwark/contracts';
import { isRetryable } from '@bulwark/errors';
import type { OperationAnswer, OperationRequest } from '@bulwark/router-server';
import { percentile } from './closed-loop';
import {
  checkFound,
  checkPut,
  getRequestOf,
  keyCount,
  measureCell,
  msPerS,
  newCellId,
  operationTimeoutMs,
  perUnit,
  putRequestOf,
  restingCpu,
  sendUnary,
  serverCpuUs,
  warmupMsOf,
  type CpuWindow,
} from './kv-cells';
import { failoverGiveUpMs, measureFailovers, type FailoverKill } from './replica-failover';
import { groupId, launchReplicaFleet, type ReplicaFleet } from './replica-fleet';
import type { BenchTable } from './table';

const settingsSchema = {
  cellMs: int('BULWARK_BENCH_REPLICA_CELL_MS', { min: 100, max: 600_000, default: 5_000 }),
  kills: int('BULWARK_BENCH_REPLICA_KILLS', { min: 1, max: 100, default: 10 }),
};
type Settings = ConfigOf<typeof settingsSchema>;
type OperationOf = (n: number, cellId: string) => OperationRequest;
type Check = (answer: OperationAnswer) => void;

const inFlightLevels = [1, 16, 64];
const apis = ['unary', 'Operate'] as const;
type Api = (typeof apis)[number];
const { Consistency, Durability } = kvV1;

/**
 * Rows for one kind of operation at one member: each API at each number in
 * flight. operationOf builds operation n of a cell (cellId makes its
 * request ids unique); check throws on an answer that is not what was asked.
 */
async function measureCells(
  fleet: ReplicaFleet,
  settings: Settings,
  member: string,
  labels: string[],
  operationOf: OperationOf,
  check: Check,
): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  for (const api of apis) {
    for (const inFlight of inFlightLevels) {
      const cellId = newCellId();
      const stream = api === 'Operate' ? fleet.openOperate(member) : undefined;
      const shard = fleet.shard(member);
      const send = (operation: OperationRequest) =>
        stream ? stream.submit(operation, operationTimeoutMs) : sendUnary(shard, operation);
      try {
        const cell = await measureCell(
          () => fleet.cpu(),
          settings.cellMs,
          inFlight,
          async (n) => check(await send(operationOf(n, cellId))),
        );
        rows.push([
          ...labels,
          api satisfies Api,
          inFlight,
          cell.ops,
          cell.opsPerS,
          cell.p50Ms,
          cell.p99Ms,
          perUnit(serverCpuUs(cell), cell.ops),
          perUnit(cell.clientCpuUs, cell.ops),
          cell.retried,
        ]);
      } finally {
        stream?.close();
      }
    }
  }
  return rows;
}

const putOf =
  (durability: kvV1.Durability) =>
  (n: number, cellId: string): OperationRequest => ({
    $case: 'put',
    put: { groupId, request: putRequestOf(n, cellId, durability) },
  });

const getOf =
  (consistency: kvV1.Consistency) =>
  (n: number): OperationRequest => ({
    $case: 'get',
    get: { groupId, request: getRequestOf(n, consistency) },
  });

/** Retries until the primary acknowledges a write: a new group's primary may not hold its lease yet. */
async function firstWrite(fleet: ReplicaFleet, primary: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      checkPut(await sendUnary(fleet.shard(primary), putOf(Durability.DURABILITY_UNSPECIFIED)(0, newCellId())));
      return;
    } catch (error) {
      if (!isRetryable(error) || Date.now() > deadline) throw error;
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
  }
}

/** Every key written (64 at a time), then readable at the backup: Gets read values that exist. */
async function prefill(fleet: ReplicaFleet, primary: string, backup: string): Promise<void> {
  const put = putOf(Durability.DURABILITY_UNSPECIFIED);
  const cellId = newCellId();
  for (let first = 0; first < keyCount; first += 64) {
    const batch = Array.from({ length: Math.min(64, keyCount - first) }, (_, index) => first + index);
    await Promise.all(batch.map(async (n) => checkPut(await sendUnary(fleet.shard(primary), put(n, cellId)))));
  }
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await sendUnary(fleet.shard(backup), getOf(Consistency.CONSISTENCY_EVENTUAL)(keyCount - 1));
    if (answer.$case === 'get' && answer.get.response?.found) return;
    if (Date.now() > deadline) throw new Error(`${backup} had not applied the prefill within 10 s`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
}

/** Server and client CPU ms/s at rest. */
const restingRates = (rest: CpuWindow & { seconds: number }) => [
  msPerS(serverCpuUs(rest), rest.seconds),
  msPerS(rest.clientCpuUs, rest.seconds),
];

const cellColumns = [
  'in flight',
  'ops',
  'ops/s',
  'p50 ms',
  'p99 ms',
  'server CPU µs/op',
  'client CPU µs/op',
  'retried',
];

function failoverTables(kills: readonly FailoverKill[], asked: number): BenchTable[] {
  const acked = kills.filter((kill) => kill.ackMs !== undefined);
  const times = acked.map((kill) => kill.ackMs as number).sort((a, b) => a - b);
  const rejoins = kills.flatMap((kill) => (kill.rejoinMs === undefined ? [] : [kill.rejoinMs])).sort((a, b) => a - b);
  const changes = [
    ...new Set(acked.flatMap((kill) => (kill.epochAfter === undefined ? [] : [kill.epochAfter - kill.epochBefore]))),
  ].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const epochChange = changes.length === 0 ? '-' : changes.map((change) => `+${change}`).join(', ');
  const round = (ms: number | undefined) => (ms === undefined ? '-' : Math.round(ms));
  return [
    {
      title:
        `Replica group failover: SIGKILL of the primary until a write is acknowledged by the new primary ` +
        `(sync group, one writer retrying with its request_id, ${asked} kills, each given up after ${failoverGiveUpMs / 1_000} s)`,
      columns: [
        'kills',
        'acknowledged',
        'given up',
        'median ms',
        'max ms',
        'min ms',
        'epoch change',
        'median rejoin ms',
      ],
      rows: [
        [
          kills.filter((kill) => kill.killed !== '-').length,
          acked.length,
          kills.filter((kill) => kill.killed !== '-' && kill.ackMs === undefined).length,
          round(times.length ? percentile(times, 0.5) : undefined),
          round(times.at(-1)),
          round(times[0]),
          epochChange,
          round(rejoins.length ? percentile(rejoins, 0.5) : undefined),
        ],
      ],
    },
    {
      title: 'Replica group failover, each kill (rejoin: restart of the killed member until all 3 are in sync again)',
      columns: ['kill', 'killed', 'new primary', 'kill to ack ms', 'epoch', 'rejoin ms', 'note'],
      rows: kills.map((kill, index) => [
        index + 1,
        kill.killed,
        kill.newPrimary ?? '-',
        round(kill.ackMs),
        kill.epochAfter === undefined ? `${kill.epochBefore}` : `${kill.epochBefore} -> ${kill.epochAfter}`,
        round(kill.rejoinMs),
        kill.note ?? '',
      ]),
    },
  ];
}

export async function runReplicaBench(): Promise<BenchTable[]> {
  const settings = loadConfig(settingsSchema);
  const putRows: (string | number)[][] = [];
  const getRows: (string | number)[][] = [];
  const restingRows: (string | number)[][] = [];
  const restingMs = Math.min(2_000, settings.cellMs);
  let failovers: FailoverKill[] = [];
  const cells = (fleet: ReplicaFleet, member: string, labels: string[], operationOf: OperationOf, check: Check) =>
    measureCells(fleet, settings, member, labels, operationOf, check);

  const syncFleet = await launchReplicaFleet('sync', '127.77.70');
  try {
    const group = await syncFleet.group();
    const primary = group.primary;
    const backup = group.members.find((member) => member !== primary) as string;
    await firstWrite(syncFleet, primary);
    restingRows.push(['sync', restingMs, ...restingRates(await restingCpu(() => syncFleet.cpu(), restingMs))]);
    const unspecified = putOf(Durability.DURABILITY_UNSPECIFIED);
    putRows.push(...(await cells(syncFleet, primary, ['sync', 'unspecified'], unspecified, checkPut)));
    putRows.push(...(await cells(syncFleet, primary, ['sync', 'ASYNC'], putOf(Durability.DURABILITY_ASYNC), checkPut)));
    await prefill(syncFleet, primary, backup);
    const strong = getOf(Consistency.CONSISTENCY_STRONG);
    const eventual = getOf(Consistency.CONSISTENCY_EVENTUAL);
    getRows.push(...(await cells(syncFleet, primary, ['STRONG', 'primary'], strong, checkFound)));
    getRows.push(...(await cells(syncFleet, backup, ['EVENTUAL', 'backup'], eventual, checkFound)));
    failovers = await measureFailovers(syncFleet, settings.kills);
  } finally {
    await syncFleet.stop();
  }

  const asyncFleet = await launchReplicaFleet('async', '127.77.71');
  try {
    const primary = (await asyncFleet.group()).primary;
    await firstWrite(asyncFleet, primary);
    restingRows.push(['async', restingMs, ...restingRates(await restingCpu(() => asyncFleet.cpu(), restingMs))]);
    const unspecified = putOf(Durability.DURABILITY_UNSPECIFIED);
    putRows.push(...(await cells(asyncFleet, primary, ['async', 'unspecified'], unspecified, checkPut)));
  } finally {
    await asyncFleet.stop();
  }

  const cell = `${settings.cellMs / 1_000} s per cell after ${warmupMsOf(settings.cellMs) / 1_000} s of warm-up`;
  return [
    {
      title:
        `Replica group Put at the primary (3 replicas + 3 coordinators; 16-byte keys, 100-byte values, request_id on every write; ` +
        `one client process; ${cell}; server CPU: all 6 processes)`,
      columns: ['group', 'durability', 'api', ...cellColumns],
      rows: putRows,
    },
    {
      title: `Replica group Get, sync group (${keyCount.toLocaleString('en-US')} keys of 100 bytes; one client process; ${cell})`,
      columns: ['consistency', 'member', 'api', ...cellColumns],
      rows: getRows,
    },
    {
      title:
        "Replica fleet at rest before its first cell: the background in every cell's CPU (server: all 6 processes)",
      columns: ['group', 'measured ms', 'server CPU ms/s', 'client CPU ms/s'],
      rows: restingRows,
    },
    ...failoverTables(failovers, settings.kills),
  ];
}

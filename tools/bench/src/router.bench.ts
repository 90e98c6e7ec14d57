// One router in front of one replica group of 3 (and its 3 coordinators),
// run by the launcher library: what the router costs. Put (the group's sync
// durability) and STRONG Get at 1, 16 and 64 operations in flight from one
// client process, through the router (kv.v1 unary calls) and straight at the
// primary, on its batched Operate stream (the best a client talking to the
// replica can do; the router's own hop to the replica is such a stream) and
// as unary shard.v1 calls (the same client shape as the router's); then
// BatchPut and BatchGet of 100 keys through the router at 1, 4 and 16
// batches in flight.
//
// BULWARK_BENCH_ROUTER_CELL_MS sets how long each cell is measured (5,000 by
// default, after a warm-up of a fifth of that, at most 1 s).
import { int, loadConfig, type ConfigOf } from '@bulwark/config';
import { kvV1 } from '@bulwark/contracts';
import type { OperateStream, OperationRequest } from '@bulwark/router-server';
import { callUnary } from '@bulwark/rpc';
import {
  checkFound,
  checkGetResponse,
  checkPut,
  checkPutResponse,
  getRequestOf,
  keyCount,
  keyOf,
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
  type Cell,
} from './kv-cells';
import { groupId } from './replica-fleet';
import { launchRouterFleet, routerName, type RouterFleet } from './router-fleet';
import type { BenchTable } from './table';

const settingsSchema = {
  cellMs: int('BULWARK_BENCH_ROUTER_CELL_MS', { min: 100, max: 600_000, default: 5_000 }),
};
type Settings = ConfigOf<typeof settingsSchema>;

/** Not used by any other bench or test: 127.77.70 and .71 are the replica bench's, .72 a system test's. */
const subnet = '127.77.73';
const inFlightLevels = [1, 16, 64];
const batchInFlightLevels = [1, 4, 16];
/** Keys in one BatchPut or BatchGet. */
const batchKeys = 100;
/** The direct paths first: each router row is compared with them. */
const paths = ['primary Operate', 'primary unary', 'router'] as const;
type Path = (typeof paths)[number];
const { Consistency } = kvV1;
const strong = Consistency.CONSISTENCY_STRONG;
const isRouter = (name: string) => name === routerName;

type Row = (string | number)[];

/** One operation of a cell on a path: n is the operation's number, cellId makes its request id unique. */
type Send = (n: number) => Promise<void>;

interface Kind {
  readonly name: 'Put' | 'Get';
  /** The operation on each path, for one cell. */
  readonly on: (path: Path, cellId: string, stream: OperateStream | undefined) => Send;
}

function kinds(fleet: RouterFleet, primary: string): Kind[] {
  const { kv, replicas } = fleet;
  const shard = replicas.shard(primary);
  const settings = { deadlineMs: operationTimeoutMs };
  const direct = (stream: OperateStream | undefined, operation: OperationRequest) =>
    stream ? stream.submit(operation, operationTimeoutMs) : sendUnary(shard, operation);
  return [
    {
      name: 'Put',
      on: (path, cellId, stream) => async (n) => {
        const request = putRequestOf(n, cellId);
        if (path === 'router') checkPutResponse(await callUnary(kv, kv.put, request, settings));
        else checkPut(await direct(stream, { $case: 'put', put: { groupId, request } }));
      },
    },
    {
      name: 'Get',
      on: (path, _cellId, stream) => async (n) => {
        const request = getRequestOf(n, strong);
        if (path === 'router') checkGetResponse(await callUnary(kv, kv.get, request, settings));
        else checkFound(await direct(stream, { $case: 'get', get: { groupId, request } }));
      },
    },
  ];
}

const percent = (fraction: number) => `${fraction >= 0 ? '+' : ''}${Math.round(fraction * 100)}%`;

/** Each path at each number in flight for one kind of operation; the paths of one number in flight side by side. */
async function measurePaths(fleet: RouterFleet, settings: Settings, primary: string, kind: Kind): Promise<Row[]> {
  const rows: Row[] = [];
  for (const inFlight of inFlightLevels) {
    const cells = new Map<Path, Cell>();
    for (const path of paths) {
      const stream = path === 'primary Operate' ? fleet.replicas.openOperate(primary) : undefined;
      try {
        const send = kind.on(path, newCellId(), stream);
        cells.set(path, await measureCell(() => fleet.replicas.cpu(), settings.cellMs, inFlight, send));
      } finally {
        stream?.close();
      }
    }
    const router = cells.get('router') as Cell;
    const serverPerOp = (cell: Cell) => perUnit(serverCpuUs(cell), cell.ops);
    for (const [path, cell] of cells) {
      const overhead =
        path === 'router' || router.opsPerS === 0 || serverPerOp(cell) === 0
          ? ['-', '-']
          : [percent(cell.opsPerS / router.opsPerS - 1), `${(serverPerOp(router) / serverPerOp(cell)).toFixed(2)}×`];
      rows.push([
        kind.name,
        inFlight,
        path,
        cell.ops,
        cell.opsPerS,
        cell.p50Ms,
        cell.p99Ms,
        serverPerOp(cell),
        perUnit(serverCpuUs(cell, isRouter), cell.ops),
        perUnit(cell.clientCpuUs, cell.ops),
        cell.retried,
        ...overhead,
      ]);
    }
  }
  return rows;
}

/** Keys n * batchKeys .. n * batchKeys + batchKeys - 1 of the key space, as puts of one cell. */
const batchPutsOf = (n: number, cellId: string) =>
  Array.from({ length: batchKeys }, (_, index) => putRequestOf(n * batchKeys + index, cellId));

function checkBatchPut(response: kvV1.BatchPutResponse): void {
  if (response.results.length !== batchKeys) throw new Error(`a BatchPut answered ${response.results.length} puts`);
  for (const result of response.results) {
    const outcome = result.outcome;
    if (outcome?.$case !== 'response') {
      throw new Error(`a BatchPut put of ${result.key} failed: ${outcome ? outcome.error.message : 'no outcome'}`);
    }
    checkPutResponse(outcome.response);
  }
}

function checkBatchGet(response: kvV1.BatchGetResponse): void {
  if (response.results.length !== batchKeys) throw new Error(`a BatchGet answered ${response.results.length} keys`);
  for (const result of response.results) {
    if (!result.found) throw new Error(`a BatchGet of written key ${result.key} found nothing`);
  }
}

/** BatchPut and BatchGet through the router at each number of batches in flight. */
async function measureBatches(fleet: RouterFleet, settings: Settings): Promise<Row[]> {
  const { kv } = fleet;
  const callSettings = { deadlineMs: operationTimeoutMs };
  const batchKinds: Array<[string, (cellId: string) => Send]> = [
    [
      'BatchPut',
      (cellId) => async (n) =>
        checkBatchPut(await callUnary(kv, kv.batchPut, { puts: batchPutsOf(n, cellId) }, callSettings)),
    ],
    [
      'BatchGet',
      () => async (n) => {
        const keys = Array.from({ length: batchKeys }, (_, index) => keyOf(n * batchKeys + index));
        checkBatchGet(await callUnary(kv, kv.batchGet, { keys, consistency: strong, maxStalenessMs: 0 }, callSettings));
      },
    ],
  ];
  const rows: Row[] = [];
  for (const [name, sendOf] of batchKinds) {
    for (const inFlight of batchInFlightLevels) {
      const cell = await measureCell(() => fleet.replicas.cpu(), settings.cellMs, inFlight, sendOf(newCellId()));
      const keys = cell.ops * batchKeys;
      rows.push([
        name,
        inFlight,
        cell.ops,
        cell.opsPerS * batchKeys,
        cell.p50Ms,
        cell.p99Ms,
        perUnit(serverCpuUs(cell), keys),
        perUnit(serverCpuUs(cell, isRouter), keys),
        perUnit(cell.clientCpuUs, keys),
        cell.retried,
      ]);
    }
  }
  return rows;
}

/** Every key written through the router (BatchPuts, 4 at a time): STRONG Gets and BatchGets read values that exist. */
async function prefill(fleet: RouterFleet): Promise<void> {
  const { kv } = fleet;
  const cellId = newCellId();
  const batches = Math.ceil(keyCount / batchKeys);
  for (let first = 0; first < batches; first += 4) {
    const group = Array.from({ length: Math.min(4, batches - first) }, (_, index) => first + index);
    await Promise.all(
      group.map(async (n) =>
        checkBatchPut(
          await callUnary(kv, kv.batchPut, { puts: batchPutsOf(n, cellId) }, { deadlineMs: operationTimeoutMs }),
        ),
      ),
    );
  }
}

export async function runRouterBench(): Promise<BenchTable[]> {
  const settings = loadConfig(settingsSchema);
  const rows: Row[] = [];
  let batchRows: Row[] = [];
  const restingMs = Math.min(2_000, settings.cellMs);
  let restingRow: Row = [];

  const fleet = await launchRouterFleet(subnet);
  try {
    const primary = (await fleet.replicas.group()).primary;
    const rest = await restingCpu(() => fleet.replicas.cpu(), restingMs);
    restingRow = [
      restingMs,
      msPerS(serverCpuUs(rest), rest.seconds),
      msPerS(serverCpuUs(rest, isRouter), rest.seconds),
      msPerS(rest.clientCpuUs, rest.seconds),
    ];
    await prefill(fleet);
    for (const kind of kinds(fleet, primary)) rows.push(...(await measurePaths(fleet, settings, primary, kind)));
    batchRows = await measureBatches(fleet, settings);
  } finally {
    await fleet.stop();
  }

  const cell = `${settings.cellMs / 1_000} s per cell after ${warmupMsOf(settings.cellMs) / 1_000} s of warm-up`;
  const shape = `16-byte keys, 100-byte values, ${keyCount.toLocaleString('en-US')} keys written before`;
  return [
    {
      title:
        `Router overhead: Put (durability unspecified: the group's sync) and STRONG Get through the router ` +
        `(kv.v1 unary) and straight at the primary (its Operate stream, and shard.v1 unary) ` +
        `(1 router, 3 replicas, 3 coordinators; ${shape}; one client process; ${cell}; ` +
        `server CPU: all 7 processes, router CPU: the router's part of it). On the direct rows, what the router costs ` +
        `against that path: "router ops/s cost" = this path's ops/s ÷ the router's − 1, ` +
        `"router CPU ×" = the router row's server CPU/op ÷ this path's`,
      columns: [
        'operation',
        'in flight',
        'path',
        'ops',
        'ops/s',
        'p50 ms',
        'p99 ms',
        'server CPU µs/op',
        'router CPU µs/op',
        'client CPU µs/op',
        'retried',
        'router ops/s cost',
        'router CPU ×',
      ],
      rows,
    },
    {
      title:
        `Router BatchPut and STRONG BatchGet of ${batchKeys} keys (kv.v1 unary, ${shape}; ` +
        `one client process; ${cell}; server CPU: all 7 processes, router CPU: the router's part of it)`,
      columns: [
        'operation',
        'batches in flight',
        'batches',
        'keys/s',
        'p50 ms/batch',
        'p99 ms/batch',
        'server CPU µs/key',
        'router CPU µs/key',
        'client CPU µs/key',
        'retried',
      ],
      rows: batchRows,
    },
    {
      title: "Router fleet at rest before its first cell: the background in every cell's CPU",
      columns: ['measured ms', 'server CPU ms/s (all 7)', 'router CPU ms/s', 'client CPU ms/s'],
      rows: [restingRow],
    },
  ];
}

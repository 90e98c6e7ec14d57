// What the fleet benchmarks (replica.bench.ts, router.bench.ts) share: the
// keys and values they write and read (16-byte keys, 100-byte values),
// request ids unique to the run, the shard.v1 calls and checks on them, and
// one measured cell of closed-loop load with the CPU of every server process
// and of this one.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { kvV1, type shardV1 } from '@bulwark/contracts';
import { callUnary } from '@bulwark/rpc';
import type { OperationAnswer, OperationRequest } from '@bulwark/router-server';
import { percentile, runClosedLoop } from './closed-loop';
import { cpuSecondsBetween, type CpuSample } from './process-cpu';

/** Keys written and read in turn: 16 bytes each ("key-" and 12 digits). */
export const keyCount = 4_096;
export const keyOf = (n: number) => `key-${String(n % keyCount).padStart(12, '0')}`;
export const value = Buffer.alloc(100, 'v');
/** The deadline of a unary call, and the timeout_ms of an Operate operation. */
export const operationTimeoutMs = 10_000;

/** Request ids unique to this run and cell: a repeated one would be answered from the dedupe table, not written. */
const runId = randomUUID().slice(0, 8);
let cellCount = 0;

/** A prefix for the request ids of one cell (or one setup step), never given out twice in a run. */
export function newCellId(): string {
  return `${runId}-${++cellCount}`;
}

export const warmupMsOf = (cellMs: number) => Math.min(1_000, Math.round(cellMs / 5));

/** Put number n of a cell: key n, request id `${cellId}-${n}`. */
export function putRequestOf(
  n: number,
  cellId: string,
  durability: kvV1.Durability = kvV1.Durability.DURABILITY_UNSPECIFIED,
): kvV1.PutRequest {
  return { key: keyOf(n), value, durability, fence: undefined, requestId: `${cellId}-${n}` };
}

export function getRequestOf(n: number, consistency: kvV1.Consistency): kvV1.GetRequest {
  return { key: keyOf(n), consistency, maxStalenessMs: 0 };
}

export function checkPutResponse(response: kvV1.PutResponse | undefined): void {
  if (!response?.succeeded) throw new Error('a Put was not applied');
}

export function checkGetResponse(response: kvV1.GetResponse | undefined): void {
  if (!response?.found) throw new Error('a Get of a written key found nothing');
}

export function checkPut(answer: OperationAnswer): void {
  if (answer.$case !== 'put') throw new Error(`a Put was answered with a ${answer.$case}`);
  checkPutResponse(answer.put.response);
}

export function checkFound(answer: OperationAnswer): void {
  if (answer.$case !== 'get') throw new Error(`a Get was answered with a ${answer.$case}`);
  checkGetResponse(answer.get.response);
}

/** One Put or Get as a unary shard.v1 call. */
export async function sendUnary(shard: shardV1.ShardClient, operation: OperationRequest): Promise<OperationAnswer> {
  const settings = { deadlineMs: operationTimeoutMs };
  switch (operation.$case) {
    case 'put':
      return { $case: 'put', put: await callUnary(shard, shard.put, operation.put, settings) };
    case 'get':
      return { $case: 'get', get: await callUnary(shard, shard.get, operation.get, settings) };
    default:
      throw new Error(`the fleet benches send no ${operation.$case}`);
  }
}

/** CPU of the server processes at the edges of a window, and of this process (the client) within it. */
export interface CpuWindow {
  serverBefore: CpuSample;
  serverAfter: CpuSample;
  clientCpuUs: number;
}

/** One measured cell. */
export interface Cell extends CpuWindow {
  /** Operations answered inside the measured window. */
  ops: number;
  opsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Retryable rejections retried. */
  retried: number;
}

/**
 * Closed-loop load of `inFlight` operations for cellMs (after a warm-up of
 * warmupMsOf(cellMs)), with the server processes' CPU (`cpu`) and this
 * process's sampled at the window's edges.
 */
export async function measureCell(
  cpu: () => CpuSample,
  cellMs: number,
  inFlight: number,
  operation: (n: number) => Promise<void>,
): Promise<Cell> {
  let serverBefore: CpuSample = new Map();
  let serverAfter: CpuSample = new Map();
  let clientBefore = process.cpuUsage();
  let client = { user: 0, system: 0 };
  const { ops, elapsedMs, latenciesMs, retried } = await runClosedLoop({
    inFlight,
    warmupMs: warmupMsOf(cellMs),
    durationMs: cellMs,
    operation,
    onWindowStart: () => {
      serverBefore = cpu();
      clientBefore = process.cpuUsage();
    },
    onWindowEnd: () => {
      serverAfter = cpu();
      client = process.cpuUsage(clientBefore);
    },
  });
  return {
    ops,
    opsPerS: Math.round(ops / (elapsedMs / 1_000)),
    p50Ms: Number(percentile(latenciesMs, 0.5).toFixed(2)),
    p99Ms: Number(percentile(latenciesMs, 0.99).toFixed(2)),
    serverBefore,
    serverAfter,
    clientCpuUs: client.user + client.system,
    retried,
  };
}

/** CPU µs the server processes spent in a window: all of them, or those `only` names. */
export function serverCpuUs(window: CpuWindow, only?: (name: string) => boolean): number {
  const pick = (sample: CpuSample): CpuSample => (only ? new Map([...sample].filter(([name]) => only(name))) : sample);
  return cpuSecondsBetween(pick(window.serverBefore), pick(window.serverAfter)) * 1e6;
}

/** µs per unit, rounded; 0 when there were none. */
export const perUnit = (micros: number, units: number) => (units === 0 ? 0 : Math.round(micros / units));

/**
 * The CPU of the fleet (`cpu`) and of this process over ms under no load:
 * the background (heartbeats, lease renewals, watches) that every cell's
 * CPU includes, most of it per operation at 1 in flight.
 */
export async function restingCpu(cpu: () => CpuSample, ms: number): Promise<CpuWindow & { seconds: number }> {
  const serverBefore = cpu();
  const clientBefore = process.cpuUsage();
  const startedAt = performance.now();
  await new Promise((resolveWait) => setTimeout(resolveWait, ms));
  const seconds = (performance.now() - startedAt) / 1_000;
  const client = process.cpuUsage(clientBefore);
  return { serverBefore, serverAfter: cpu(), clientCpuUs: client.user + client.system, seconds };
}

/** CPU ms per second, rounded, of micros over seconds. */
export const msPerS = (micros: number, seconds: number) => Math.round(micros / 1_000 / seconds);

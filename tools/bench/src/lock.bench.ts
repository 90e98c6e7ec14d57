// The lock service on 3 Redis servers with 2 instances (lock.compose.yml), run
// by the launcher library, against etcd's v3lock: acquire+release cycles from
// one client process with one gRPC channel per instance (the shape of an
// etcd v3lock client), unary Acquire (wait up to 30 s, TTL 10 s) then
// Release, at 1, 16 and 64 contenders, each on its own lock and all on one
// hot lock, spread over both instances and all on lock-1; then wake-up on
// release: one holder, one waiter queued on the same or the other instance,
// time from sending the holder's Release to the waiter's grant.
//
// Every answer is checked (acquired, valid, tokens strictly increasing per
// lock name, never granted while its holder has not yet sent its Release);
// a failed check or call fails the run, never becomes a number.
//
// BULWARK_BENCH_LOCK_CELL_MS sets how long each cell is measured (5,000 by
// default, after a warm-up of a fifth of that, at most 1 s);
// BULWARK_BENCH_LOCK_HANDOFFS how many handoffs each wake-up row times (300).
// With an etcd binary on the PATH (or BULWARK_BENCH_ETCD), the 64-contender
// cells are then run against a 3-member etcd as well (etcd-lock.ts).
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { int, loadConfig, type ConfigOf } from '@bulwark/config';
import { lockV1 } from '@bulwark/contracts';
import { callUnary } from '@bulwark/rpc';
import { asIdleContender, percentile, runClosedLoop } from './closed-loop';
import { msPerS, newCellId, perUnit, restingCpu, serverCpuUs, warmupMsOf, type CpuWindow } from './kv-cells';
import { isLockInstance, launchLockFleet, type LockFleet, type LockInstance } from './lock-fleet';
import { etcdBinary } from './etcd-cluster';
import { launchEtcd } from './etcd-lock';
import type { CpuSample } from './process-cpu';
import type { BenchTable } from './table';

const settingsSchema = {
  cellMs: int('BULWARK_BENCH_LOCK_CELL_MS', { min: 100, max: 600_000, default: 5_000 }),
  handoffs: int('BULWARK_BENCH_LOCK_HANDOFFS', { min: 10, max: 100_000, default: 300 }),
};
type Settings = ConfigOf<typeof settingsSchema>;

/** Not used by any other bench or test (grep 127.77.): the lock system test's is .80. */
const subnet = '127.77.81';
const contenderLevels = [1, 16, 64];
const ttlMs = 10_000;
const waitTimeoutMs = 30_000;
/** Beyond the wait, so the service answers "not acquired" (a failed check) before the call's deadline ends it. */
const acquireDeadlineMs = waitTimeoutMs + 5_000;
const callDeadlineMs = 10_000;
/** Handoffs before the timed ones: the first ones pay for connections and cold code. */
const warmupHandoffs = 20;
/** How long a waiter may take to show up in the lock's queue. */
const queuedTimeoutMs = 5_000;
/** At rest before the first cell, the fleet's background CPU. */
const restingMs = 2_000;

/**
 * etcd v3lock at 64 contenders (unary Lock then Unlock from one client
 * process, the client shape used here), measured earlier on this machine and
 * not run here; the goal is twice these.
 */
const etcdReferenceCyclesPerS = { distinct: 1_000, hot: 290 } as const;
const etcdReferenceContenders = 64;
const goalFactor = 2;
const wakeGoalP50Ms = 5;

type LockKind = keyof typeof etcdReferenceCyclesPerS;
const kinds: ReadonlyArray<[LockKind, string]> = [
  ['distinct', 'distinct locks'],
  ['hot', 'one hot lock'],
];
type Spread = 'lock-1 + lock-2' | 'lock-1';
/** Contender i's instance: alternating over both (half each), or all on lock-1. */
const instanceOf = (spread: Spread, index: number): LockInstance =>
  spread === 'lock-1' || index % 2 === 0 ? 'lock-1' : 'lock-2';

type Row = (string | number)[];

interface Contender {
  readonly owner: string;
  readonly name: string;
  readonly client: lockV1.LockClient;
}

/** A call's failure with what was being done; a plain Error, so the closed loop never retries it. */
async function step<T>(what: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    // A retried cycle could leave a lock held until its TTL and skew every number after it: fail the run instead.
    throw new Error(`${what} failed: ${String(error)}`);
  }
}

const acquire = (client: lockV1.LockClient, name: string, owner: string) =>
  step(
    `Acquire of ${name} by ${owner}`,
    callUnary(client, client.acquire, { name, owner, ttlMs, waitTimeoutMs }, { deadlineMs: acquireDeadlineMs }),
  );

/** Releases exactly the grant answered (its lease id), as the lock client does. */
const release = (client: lockV1.LockClient, name: string, owner: string, grant: Granted) =>
  step(
    `Release of ${name} by ${owner}`,
    callUnary(client, client.release, { name, owner, ...grant }, { deadlineMs: callDeadlineMs }),
  );

interface Granted {
  readonly token: bigint;
  readonly leaseId: string;
}

/**
 * Checks grants as the client sees them. A holder's next grant can only
 * follow its Release, which is sent after its grant was answered, so per
 * name the answers arrive in grant order: tokens strictly increase, and no
 * grant arrives while the previous holder has not yet sent its Release.
 */
class GrantCheck {
  private readonly lastTokens = new Map<string, bigint>();
  private readonly holders = new Map<string, string>();

  /** The grant, after checking the answer. */
  granted(name: string, owner: string, answer: lockV1.AcquireResponse): Granted {
    if (!answer.acquired) {
      throw new Error(
        `Acquire of ${name} by ${owner} was not granted within its ${waitTimeoutMs} ms wait ` +
          `(holder ${answer.holder?.owner ?? 'none'})`,
      );
    }
    if (answer.validForMs <= 0) throw new Error(`Acquire of ${name} by ${owner} granted with no validity left`);
    const last = this.lastTokens.get(name);
    if (last !== undefined && answer.token <= last) {
      throw new Error(`${name} granted to ${owner} with token ${answer.token} after token ${last}`);
    }
    const holder = this.holders.get(name);
    if (holder !== undefined) {
      // Only a lease run out (a 10 s cycle) could explain it, and that is a failure here too.
      throw new Error(`${name} granted to ${owner} while ${holder} held it and had not sent its Release`);
    }
    this.lastTokens.set(name, answer.token);
    this.holders.set(name, owner);
    return { token: answer.token, leaseId: answer.leaseId };
  }

  /** Called just before the holder sends its Release. */
  releasing(name: string, owner: string): void {
    if (this.holders.get(name) !== owner) throw new Error(`${owner} releases ${name}, which it does not hold`);
    this.holders.delete(name);
  }
}

/** One measured cell of acquire+release cycles. */
interface LockCell extends CpuWindow {
  /** Cycles completed inside the measured window. */
  cycles: number;
  cyclesPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** The longest Acquire (sent to granted) among those granted inside the window. */
  maxWaitMs: number;
}

/**
 * Closed-loop cycles by `contenders` contenders for cellMs after a warm-up.
 * A cycle runs as whichever contender is idle: at most `contenders` are in
 * flight, so one always is, and none runs two cycles at once.
 */
async function measureLockCell(
  fleet: LockFleet,
  settings: Settings,
  kind: LockKind,
  spread: Spread,
  contenders: number,
): Promise<LockCell> {
  const cellId = newCellId();
  const idle: Contender[] = Array.from({ length: contenders }, (_, index) => ({
    owner: `bench-${cellId}-${index}`,
    name: kind === 'hot' ? `bench/${cellId}/hot` : `bench/${cellId}/lock-${index}`,
    client: fleet.client(instanceOf(spread, index)),
  }));
  const grants = new GrantCheck();
  let measuring = false;
  let maxWaitMs = 0;
  let serverBefore: CpuSample = new Map();
  let serverAfter: CpuSample = new Map();
  let clientBefore = process.cpuUsage();
  let client = { user: 0, system: 0 };
  const cycle = asIdleContender(idle, async ({ client: lock, name, owner }) => {
    const sentAtMs = performance.now();
    const answer = await acquire(lock, name, owner);
    const waitMs = performance.now() - sentAtMs;
    const grant = grants.granted(name, owner, answer);
    if (measuring) maxWaitMs = Math.max(maxWaitMs, waitMs);
    grants.releasing(name, owner);
    await release(lock, name, owner, grant);
  });
  const { ops, elapsedMs, latenciesMs } = await runClosedLoop({
    inFlight: contenders,
    warmupMs: warmupMsOf(settings.cellMs),
    durationMs: settings.cellMs,
    operation: cycle,
    onWindowStart: () => {
      measuring = true;
      serverBefore = fleet.cpu();
      clientBefore = process.cpuUsage();
    },
    onWindowEnd: () => {
      measuring = false;
      serverAfter = fleet.cpu();
      client = process.cpuUsage(clientBefore);
    },
  });
  return {
    cycles: ops,
    cyclesPerS: Math.round(ops / (elapsedMs / 1_000)),
    p50Ms: Number(percentile(latenciesMs, 0.5).toFixed(2)),
    p99Ms: Number(percentile(latenciesMs, 0.99).toFixed(2)),
    maxWaitMs: Number(maxWaitMs.toFixed(1)),
    serverBefore,
    serverAfter,
    clientCpuUs: client.user + client.system,
  };
}

/** Cycles/s of this run's cells at etcdReferenceContenders, by kind and spread, to set beside etcd's. */
type OursAtReference = Map<`${LockKind}/${Spread}`, number>;

async function measureCycles(fleet: LockFleet, settings: Settings, ours: OursAtReference): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [kind, kindLabel] of kinds) {
    for (const contenders of contenderLevels) {
      // One contender is on lock-1 either way: its lock-1-only row would repeat the other.
      const spreads: Spread[] = contenders === 1 ? ['lock-1'] : ['lock-1 + lock-2', 'lock-1'];
      for (const spread of spreads) {
        const cell = await measureLockCell(fleet, settings, kind, spread, contenders);
        const reference = contenders === etcdReferenceContenders ? etcdReferenceCyclesPerS[kind] : undefined;
        if (reference !== undefined) ours.set(`${kind}/${spread}`, cell.cyclesPerS);
        // FIFO: a contender waits for every other one's turn, contenders ÷ cycles/s in all.
        const fairTurnMs = cell.cyclesPerS === 0 ? 0 : (contenders / cell.cyclesPerS) * 1_000;
        rows.push([
          kindLabel,
          contenders,
          spread,
          cell.cycles,
          cell.cyclesPerS,
          cell.p50Ms,
          cell.p99Ms,
          cell.maxWaitMs,
          kind === 'hot' && contenders > 1 && fairTurnMs > 0 ? Number((cell.maxWaitMs / fairTurnMs).toFixed(2)) : '-',
          perUnit(serverCpuUs(cell), cell.cycles),
          perUnit(serverCpuUs(cell, isLockInstance), cell.cycles),
          perUnit(cell.clientCpuUs, cell.cycles),
          reference ?? '-',
          reference === undefined ? '-' : `${(cell.cyclesPerS / reference).toFixed(2)}×`,
          reference === undefined ? '-' : cell.cyclesPerS >= goalFactor * reference ? 'met' : 'missed',
        ]);
      }
    }
  }
  return rows;
}

interface Party {
  readonly owner: string;
  readonly client: lockV1.LockClient;
}

/** Inspects (back to back, no pause) until the lock's queue shows a waiter; fails after queuedTimeoutMs. */
async function queued(client: lockV1.LockClient, name: string): Promise<void> {
  const deadline = performance.now() + queuedTimeoutMs;
  while (performance.now() < deadline) {
    const view = await step(`Inspect of ${name}`, callUnary(client, client.inspect, { name }, { deadlineMs: 2_000 }));
    if (view.waiters > 0) return;
  }
  throw new Error(`no waiter in the queue of ${name} within ${queuedTimeoutMs} ms`);
}

/**
 * Handoffs of one lock between two parties on the given instances: the
 * holder releases once the other waits in the queue, and the roles swap, so
 * with two instances each hands off to the other in turn.
 */
async function measureWakeUps(
  fleet: LockFleet,
  settings: Settings,
  instances: [LockInstance, LockInstance],
): Promise<Row> {
  const cellId = newCellId();
  const name = `bench/${cellId}/handoff`;
  const grants = new GrantCheck();
  let holder: Party = { owner: `bench-${cellId}-a`, client: fleet.client(instances[0]) };
  let waiter: Party = { owner: `bench-${cellId}-b`, client: fleet.client(instances[1]) };
  let grant = grants.granted(name, holder.owner, await acquire(holder.client, name, holder.owner));
  let held = true;
  const wakesMs: number[] = [];
  const releasesMs: number[] = [];
  try {
    for (let handoff = 0; handoff < warmupHandoffs + settings.handoffs; handoff += 1) {
      const waiting = acquire(waiter.client, name, waiter.owner);
      // Awaited below; this only keeps it from being reported unhandled if queued() fails first.
      waiting.catch(() => undefined);
      await queued(waiter.client, name);
      grants.releasing(name, holder.owner);
      held = false;
      const releaseSentAtMs = performance.now();
      const releasing = release(holder.client, name, holder.owner, grant).then(() => performance.now());
      releasing.catch(() => undefined);
      const answer = await waiting;
      const grantedAtMs = performance.now();
      const releasedAtMs = await releasing;
      grant = grants.granted(name, waiter.owner, answer);
      held = true;
      [holder, waiter] = [waiter, holder];
      if (handoff < warmupHandoffs) continue;
      wakesMs.push(grantedAtMs - releaseSentAtMs);
      releasesMs.push(releasedAtMs - releaseSentAtMs);
    }
  } finally {
    // After a failure the lease runs out at its TTL anyway; the fleet stops right after.
    if (held) await release(holder.client, name, holder.owner, grant).catch(() => undefined);
  }
  wakesMs.sort((a, b) => a - b);
  releasesMs.sort((a, b) => a - b);
  const ms = (value: number) => Number(value.toFixed(2));
  const p50 = percentile(wakesMs, 0.5);
  return [
    instances[0] === instances[1] ? `${instances[0]} (same instance)` : `${instances.join(' ↔ ')} (different)`,
    wakesMs.length,
    ms(p50),
    ms(percentile(wakesMs, 0.99)),
    ms(wakesMs[wakesMs.length - 1] ?? 0),
    ms(percentile(releasesMs, 0.5)),
    p50 < wakeGoalP50Ms ? 'met' : 'missed',
  ];
}

/** etcd's v3lock (binary) in the same cells as this run's at etcdReferenceContenders, beside ours; none without etcd. */
async function measureEtcd(settings: Settings, ours: OursAtReference, binary: string | undefined): Promise<Row[]> {
  if (binary === undefined) return [];
  const etcd = await launchEtcd(binary);
  const rows: Row[] = [];
  try {
    for (const [kind, kindLabel] of kinds) {
      for (const [spread, etcdSpread] of [
        ['lock-1 + lock-2', 'all members'],
        ['lock-1', 'member 1'],
      ] as const) {
        const cell = await etcd.cell(kind, etcdSpread, etcdReferenceContenders, settings.cellMs);
        const bulwark = ours.get(`${kind}/${spread}`) ?? 0;
        rows.push([
          kindLabel,
          etcdReferenceContenders,
          spread,
          bulwark,
          etcdSpread,
          cell.cyclesPerS,
          cell.p50Ms,
          cell.p99Ms,
          cell.cyclesPerS === 0 ? '-' : `${(bulwark / cell.cyclesPerS).toFixed(2)}×`,
        ]);
      }
    }
  } finally {
    await etcd.stop();
  }
  return rows;
}

export async function runLockBench(): Promise<BenchTable[]> {
  const settings = loadConfig(settingsSchema);
  // Before the fleet starts: a BULWARK_BENCH_ETCD that does not run fails the bench at once.
  const etcd = etcdBinary();
  const ours: OursAtReference = new Map();
  let cycleRows: Row[] = [];
  const wakeRows: Row[] = [];
  let restingRow: Row = [];
  // Other work on this 2-core machine shows in every number; the 1-minute load also counts a run that just ended.
  const loadBefore = Number((loadavg()[0] ?? 0).toFixed(2));

  const fleet = await launchLockFleet(subnet);
  try {
    const rest = await restingCpu(() => fleet.cpu(), restingMs);
    restingRow = [
      restingMs,
      msPerS(serverCpuUs(rest), rest.seconds),
      msPerS(serverCpuUs(rest, isLockInstance), rest.seconds),
      msPerS(rest.clientCpuUs, rest.seconds),
      loadBefore,
    ];
    cycleRows = await measureCycles(fleet, settings, ours);
    wakeRows.push(await measureWakeUps(fleet, settings, ['lock-1', 'lock-2']));
    wakeRows.push(await measureWakeUps(fleet, settings, ['lock-1', 'lock-1']));
  } finally {
    await fleet.stop();
  }
  // After the fleet has stopped: the two never share the machine.
  const etcdRows = await measureEtcd(settings, ours, etcd);

  const cell = `${settings.cellMs / 1_000} s per cell after ${warmupMsOf(settings.cellMs) / 1_000} s of warm-up`;
  const servers =
    'server CPU: lock-1, lock-2 and redis-1..3 together (appendfsync always), lock CPU: the two instances';
  return [
    {
      title:
        `Lock acquire+release cycles: unary Acquire (wait ≤ ${waitTimeoutMs / 1_000} s, TTL ${ttlMs / 1_000} s) ` +
        `then Release, each contender on its own lock or all on one hot lock, contenders alternating over ` +
        `lock-1 and lock-2 or all on lock-1 (2 instances, 3 Redis servers, 3 coordinators; one client process, ` +
        `one channel per instance; ${cell}; ${servers}). "max wait": the longest Acquire, sent to granted; ` +
        `"max wait ÷ fair turn": that ÷ (contenders ÷ cycles/s), a FIFO queue's turn. ` +
        `"etcd ref": etcd v3lock at ${etcdReferenceContenders} contenders, a REFERENCE FIGURE measured earlier ` +
        `on this machine with the same client shape, NOT run here; the goal is ${goalFactor}× it`,
      columns: [
        'locks',
        'contenders',
        'instances',
        'cycles',
        'cycles/s',
        'p50 ms',
        'p99 ms',
        'max wait ms',
        'max wait ÷ fair turn',
        'server CPU µs/cycle',
        'lock CPU µs/cycle',
        'client CPU µs/cycle',
        'etcd ref cycles/s',
        '× etcd ref',
        `goal ${goalFactor}× ref`,
      ],
      rows: cycleRows,
    },
    {
      title:
        `Lock wake-up on release: one holder, one waiter queued (seen in Inspect) on the other or the same ` +
        `instance; wake = sending the holder's Release to the waiter's Acquire answer, over ` +
        `${settings.handoffs} handoffs after ${warmupHandoffs} untimed; goal p50 < ${wakeGoalP50Ms} ms on loopback`,
      columns: [
        'instances',
        'handoffs',
        'wake p50 ms',
        'wake p99 ms',
        'wake max ms',
        'Release answer p50 ms',
        `goal p50 < ${wakeGoalP50Ms} ms`,
      ],
      rows: wakeRows,
    },
    {
      title: "Lock fleet at rest before its first cell: the background in every cell's CPU",
      columns: [
        'measured ms',
        'server CPU ms/s (locks + redis)',
        'lock CPU ms/s',
        'client CPU ms/s',
        'host load average (1 min) at launch',
      ],
      rows: [restingRow],
    },
    {
      title:
        `Beside etcd's v3lock measured now, after the fleet stopped: 3 members (${etcd ?? 'no etcd binary'}), ` +
        `the same client shape (one channel per member, each contender with a lease of its own, Lock then Unlock), ` +
        `the same cells. Left empty without an etcd binary (Debian: apt-get install etcd-server)`,
      columns: [
        'locks',
        'contenders',
        'Bulwark instances',
        'Bulwark cycles/s',
        'etcd members',
        'etcd cycles/s',
        'etcd p50 ms',
        'etcd p99 ms',
        'Bulwark ÷ etcd now',
      ],
      rows: etcdRows,
    },
  ];
}

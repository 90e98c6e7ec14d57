// How fast and how calm the monitors are, on the fleet users run
// (docker-compose.yml through the launcher library, two monitors): each
// monitor's WatchStatus stream tells every state change with the moment the
// monitor reached it.
// - a backup killed with SIGKILL: from the kill to DOWN on each monitor;
//   then restarted: from the moment it answers this bench's own health probe
//   (every 10 ms) to UP on each monitor;
// - a backup paused (SIGSTOP) for 5 s: from the pause to DOWN (silence only,
//   judged by phi);
// - a primary paused for 300 ms: failovers and DOWN verdicts it caused
//   (none wanted); a primary paused for 5 s: failovers (one wanted) and
//   from the pause to the group's new epoch.
//
// BULWARK_BENCH_MONITOR_ROUNDS sets how many times each is done (5 by default).
import { int, loadConfig } from '@bulwark/config';
import { coordinatorV1, healthV1, monitorV1 } from '@bulwark/contracts';
import { CoordinatorCaller } from '@bulwark/coordinator-client';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { createLogger } from '@bulwark/logging';
import { callUnary, createClient } from '@bulwark/rpc';
import { join } from 'node:path';
import { percentile } from './closed-loop';
import { repoRoot } from './replica-fleet';
import type { BenchTable } from './table';

/** Not used by any other bench or test. */
const subnet = '127.77.85';
/** Published ports moved out of the way of a fleet the user runs. */
const portOffset = 18_000;
const monitorNames = ['monitor-1', 'monitor-2'] as const;
const { MemberState } = monitorV1;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Every state change a monitor told of, per member, with when it arrived. */
class StateLog {
  private readonly states = new Map<string, monitorV1.MemberState>();
  private readonly waiters: Array<{ memberId: string; state: monitorV1.MemberState; resolve: (atMs: number) => void }> =
    [];
  readonly changes: Array<{ memberId: string; state: monitorV1.MemberState; atMs: number }> = [];

  heard(status: monitorV1.Status): void {
    for (const member of status.members) {
      if (this.states.get(member.memberId) === member.state) continue;
      // When the monitor reached its verdict (this machine's clock), not when the coalesced status arrived.
      const atMs = Number(member.stateSinceUnixMs);
      this.states.set(member.memberId, member.state);
      this.changes.push({ memberId: member.memberId, state: member.state, atMs });
      for (const waiter of this.waiters.filter(
        (each) => each.memberId === member.memberId && each.state === member.state,
      )) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(atMs);
      }
    }
  }

  /** When the member next enters the state (now, if it is in it). */
  until(memberId: string, state: monitorV1.MemberState, timeoutMs = 60_000): Promise<number> {
    if (this.states.get(memberId) === state) return Promise.resolve(Date.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${memberId} not ${state} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ memberId, state, resolve: (atMs) => (clearTimeout(timer), resolve(atMs)) });
    });
  }

  entered(memberId: string, state: monitorV1.MemberState, sinceMs: number): number {
    return this.changes.filter((each) => each.memberId === memberId && each.state === state && each.atMs >= sinceMs)
      .length;
  }
}

export async function runMonitorBench(): Promise<BenchTable[]> {
  const { rounds } = loadConfig({ rounds: int('BULWARK_BENCH_MONITOR_ROUNDS', { min: 1, max: 100, default: 5 }) });
  const launched = await launchComposeFleet(join(repoRoot, 'docker-compose.yml'), {
    subnet,
    projectDir: repoRoot,
    portOffset,
    readyTimeoutMs: 120_000,
  });
  const coordinators = new CoordinatorCaller({
    coordinators: ['coordinator-1', 'coordinator-2', 'coordinator-3'].map((name) => launched.address(name, 7001)),
    logger: createLogger({ service: 'bench', memberId: 'monitor-bench', level: 'fatal' }),
  });
  const monitors = monitorNames.map((name) => createClient(monitorV1.MonitorClient, launched.address(name, 7400)));
  const logs = monitorNames.map(() => new StateLog());
  const streams = monitors.map((client, index) => {
    const stream = client.watchStatus({});
    stream.on(
      'data',
      (response: monitorV1.WatchStatusResponse) => response.status && logs[index]?.heard(response.status),
    );
    stream.on('error', () => undefined);
    return stream;
  });
  try {
    return await measure(launched, coordinators, logs, rounds);
  } finally {
    for (const stream of streams) stream.cancel();
    for (const client of monitors) client.close();
    coordinators.close();
    await launched.stop();
  }
}

async function measure(
  launched: ComposeFleet,
  coordinators: CoordinatorCaller,
  logs: StateLog[],
  rounds: number,
): Promise<BenchTable[]> {
  const group = async (groupId: string) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const { topology } = await coordinators.call('getTopology', {}, { deadlineMs: 10_000 });
        return topology?.groups.find((each) => each.id === groupId) as coordinatorV1.ReplicaGroup;
      } catch (error) {
        if (attempt >= 100) throw error;
        await delay(100); // a leader just elected asks to wait
      }
    }
  };
  const bothSee = (memberId: string, state: monitorV1.MemberState) =>
    Promise.all(logs.map((log) => log.until(memberId, state)));
  const pause = async (memberId: string, pausedMs: number) => {
    const pid = launched.fleet.service(memberId).pid as number;
    const pausedAtMs = Date.now();
    process.kill(pid, 'SIGSTOP');
    await delay(pausedMs);
    process.kill(pid, 'SIGCONT');
    return pausedAtMs;
  };
  const killToDown: number[] = [];
  const servingToUp: number[] = [];
  const silenceToDown: number[] = [];
  const longPauseToEpoch: number[] = [];
  let shortPauseFailovers = 0;
  let shortPauseDowns = 0;
  let longPauseFailovers = 0;
  for (let round = 0; round < rounds; round++) {
    const { primary: primaryB, members } = await group('group-b');
    const victim = members.find((id) => id !== primaryB) as string;
    await bothSee(victim, MemberState.MEMBER_STATE_UP);

    const killedAtMs = Date.now();
    await launched.fleet.kill(victim, 'SIGKILL');
    for (const atMs of await bothSee(victim, MemberState.MEMBER_STATE_DOWN)) killToDown.push(atMs - killedAtMs);
    launched.fleet.start(victim);
    const servingAtMs = await servingAgain(launched, victim);
    for (const atMs of await bothSee(victim, MemberState.MEMBER_STATE_UP)) servingToUp.push(atMs - servingAtMs);

    const pausedAtMs = await pause(victim, 5_000);
    for (const log of logs) {
      const down = log.changes.find(
        (each) => each.memberId === victim && each.state === MemberState.MEMBER_STATE_DOWN && each.atMs >= pausedAtMs,
      );
      if (down) silenceToDown.push(down.atMs - pausedAtMs);
    }
    await bothSee(victim, MemberState.MEMBER_STATE_UP);

    const before = await group('group-c');
    await bothSee(before.primary, MemberState.MEMBER_STATE_UP);
    const shortAtMs = await pause(before.primary, 300);
    await delay(3_000); // long enough for a report and a lapsed lease to have acted
    shortPauseFailovers += Number((await group('group-c')).epoch - before.epoch);
    shortPauseDowns += logs.reduce(
      (sum, log) => sum + log.entered(before.primary, MemberState.MEMBER_STATE_DOWN, shortAtMs),
      0,
    );

    // The new epoch is looked for while the primary is still paused.
    const longAtMs = Date.now();
    const paused = pause(before.primary, 5_000);
    const givingUpAtMs = Date.now() + 60_000;
    while ((await group('group-c')).epoch === before.epoch) {
      if (Date.now() > givingUpAtMs) throw new Error('group-c did not fail over within 60 s of a 5 s pause');
      await delay(20);
    }
    longPauseToEpoch.push(Date.now() - longAtMs);
    await paused;
    await bothSee(before.primary, MemberState.MEMBER_STATE_UP);
    await delay(3_000);
    longPauseFailovers += Number((await group('group-c')).epoch - before.epoch);
  }
  const summary = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return [values.length, percentile(sorted, 0.5), sorted.at(-1) ?? 0];
  };
  return [
    {
      title: `Monitor detection on the compose fleet (2 monitors, ${rounds} rounds; ms)`,
      columns: ['event', 'verdicts', 'p50 ms', 'max ms'],
      rows: [
        ['backup killed (SIGKILL) -> DOWN', ...summary(killToDown)],
        ['backup serving again -> UP', ...summary(servingToUp)],
        ['backup paused (SIGSTOP 5 s) -> DOWN', ...summary(silenceToDown)],
        ['primary paused 5 s -> new epoch', ...summary(longPauseToEpoch)],
      ],
    },
    {
      title: `Primary pauses and failovers (${rounds} of each, 2 monitors reporting)`,
      columns: ['pause', 'failovers', 'DOWN verdicts', 'wanted'],
      rows: [
        ['300 ms', shortPauseFailovers, shortPauseDowns, '0 failovers'],
        ['5 s', longPauseFailovers, '', `${rounds} failovers (one each)`],
      ],
    },
  ];
}

/** When the member answers SERVING again, probed every 10 ms. */
async function servingAgain(launched: ComposeFleet, memberId: string): Promise<number> {
  const health = createClient(healthV1.HealthClient, launched.address(memberId, 7100), {
    'grpc.initial_reconnect_backoff_ms': 10,
    'grpc.max_reconnect_backoff_ms': 20,
  });
  const givingUpAtMs = Date.now() + 60_000;
  try {
    while (Date.now() < givingUpAtMs) {
      try {
        const { status } = await callUnary(health, health.check, { service: '' }, { deadlineMs: 500 });
        if (status === healthV1.HealthCheckResponse_ServingStatus.SERVING) return Date.now();
      } catch {
        // not serving yet
      }
      await delay(10);
    }
    throw new Error(`${memberId} did not serve within 60 s of its restart`);
  } finally {
    health.close();
  }
}

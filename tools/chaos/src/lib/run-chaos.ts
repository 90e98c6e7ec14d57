// One chaos run: the compose fleet through the launcher users use, a seeded
// KV workload recorded as a chaos history, the seeded nemesis schedule
// applied to members found in the topology when each fault starts, every
// fault healed, the fleet left to converge, a final read of every key on
// every replica, and the checkers. Every fault the run made is undone when
// it ends, also when it fails or is interrupted (close()).
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ChaosRecorder,
  checkChaosHistory,
  indexChaosHistory,
  toRegisterHistory,
  type ChaosCheckReport,
  type ChaosRecord,
  type FaultTarget as RecordedTarget,
} from '@bulwark/chaos-history';
import { renderChaosReport, reportFigures } from '@bulwark/chaos-report';
import { coordinatorV1, kvV1, shardV1 } from '@bulwark/contracts';
import { hashRingOf } from '@bulwark/coordinator-client';
import { failpointCatalog, failpointsVariable, type BugFailpointName, type FailpointName } from '@bulwark/failpoints';
import { launchComposeFleet, type ComposeFleet } from '@bulwark/fleet';
import { formatHistoryJsonLines } from '@bulwark/history';
import { KvClient } from '@bulwark/kv-client';
import { LockClient } from '@bulwark/lock-client';
import { seededUniform } from '@bulwark/random';
import { defaultReplicationSettings } from '@bulwark/replication';
import { callUnary, createClient } from '@bulwark/rpc';
import { ClockFaults, clockJumps, findLibfaketime } from './clock-faults';
import { IptablesFaults } from './iptables-faults';
import { LinkDelays, linkDelayMs, removeStaleDelayChains } from './link-delays';
import { KvWorkload, workloadKeys, type KvWorkloadOptions } from './kv-workload';
import { LockWorkload, lockDataKey, lockNames, type LockWorkloadOptions } from './lock-workload';
import { nemesisSchedule, type FaultTarget, type NemesisKind, type ScheduledFault } from './nemesis-schedule';
import { ProcessFaults } from './process-faults';

export interface ChaosRunOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly nemeses: readonly NemesisKind[];
  readonly targets: readonly FaultTarget[];
  readonly workload: Omit<KvWorkloadOptions, 'seed'>;
  readonly lockWorkload: Omit<LockWorkloadOptions, 'seed'>;
  readonly composeFile: string;
  readonly projectDir: string;
  /** Where the history, the check-history file and the summary go. */
  readonly outDir: string;
  readonly subnet: string;
  readonly portOffset: number;
  /** The command that repeats the run, shown in the report. */
  readonly command: string;
  /** Planted bugs switched on in every process of their services from the start, to show the checkers catch them. */
  readonly bugs: readonly BugFailpointName[];
}

export interface ChaosRunResult {
  readonly report: ChaosCheckReport;
  readonly operations: number;
  readonly faults: number;
  readonly historyFile: string;
  readonly summaryFile: string;
  /** The self-contained HTML page of the run. */
  readonly reportFile: string;
}

const warmUpMs = 5_000;
const healMs = 15_000;
const quietMs = 2_000;
const convergeTimeoutMs = 60_000;
/**
 * What each failpoint nemesis sets in a coordinator or a replica while its
 * fault lasts, at one of the points listed (picked by the run's seed): the
 * failpoint nemesis crashes around persist, send, apply and snapshot.
 */
const failpointFaults: Record<
  'failpoint' | 'disk-error' | 'disk-full' | 'power-loss',
  { readonly points: Record<'coordinator' | 'replica', readonly FailpointName[]>; readonly term: string }
> = {
  failpoint: {
    points: {
      coordinator: [
        'paxos.ready.beforePersist',
        'paxos.ready.beforeSend',
        'paxos.ready.beforeApply',
        'paxos.wal.afterFsync',
        'paxos.snapshot.afterReplace',
      ],
      replica: [
        'replica.ready.beforePersist',
        'replica.ready.beforeSend',
        'replica.ready.beforeApply',
        'replica.wal.afterFsync',
        'replica.snapshot.beforeRename',
        'replica.snapshot.afterRename',
        'replica.install.beforeRestore',
      ],
    },
    term: '1*crash',
  },
  'disk-error': {
    points: { coordinator: ['paxos.wal.beforeFsync'], replica: ['replica.wal.beforeFsync'] },
    term: 'error(EIO)',
  },
  'disk-full': {
    points: { coordinator: ['paxos.wal.beforeWrite'], replica: ['replica.wal.beforeWrite'] },
    term: 'error(ENOSPC)',
  },
  'power-loss': {
    points: { coordinator: ['paxos.wal.beforeFsync'], replica: ['replica.wal.beforeFsync'] },
    term: '1*crash-lose-unsynced',
  },
};
const failpointPort = 7999;
const coordinatorNames = ['coordinator-1', 'coordinator-2', 'coordinator-3'];
/** The last octet of the delay proxies' address in the fleet's /24: far above the services' .2, .3, ... */
const delayProxyHost = 250;
/**
 * How long an isolate-kill target serves cut off from its peers before it is
 * killed: within a primary's ack timeout (500 ms), so its backups are still
 * in the in-sync set and one of them takes over without what it never got.
 */
const isolatedBeforeKillMs = 300;
/** A primary's ack timeout (the compose file keeps the default), which isolate-kill must beat. */
const { ackTimeoutMs } = defaultReplicationSettings;
/** How long a member that is restarting may take to answer its failpoint control. */
const failpointReachMs = 15_000;
/** The services with failpoints. */
const bulwarkServices = /^(coordinator|replica)-/;
/** The services whose clock the clock-skew nemesis moves: the fleet's own, not Redis. */
const clockedServices = /^(coordinator|replica|router|lock|monitor)-/;

export class ChaosRun {
  private readonly records: ChaosRecord[] = [];
  private readonly recorder: ChaosRecorder;
  private readonly historyFile: string;
  /** The history file, open for the whole run: a record is on its way to disk as it happens, one write each. */
  private historyFd: number | undefined;
  private network: IptablesFaults | undefined;
  private processes: ProcessFaults | undefined;
  private clocks: ClockFaults | undefined;
  private delays: LinkDelays | undefined;
  private launched: ComposeFleet | undefined;
  private coordinators: coordinatorV1.CoordinatorClient[] = [];
  private readonly startedAt = performance.now();

  constructor(
    private readonly options: ChaosRunOptions,
    private readonly log: (line: string) => void,
  ) {
    mkdirSync(options.outDir, { recursive: true });
    this.historyFile = join(options.outDir, 'history.jsonl');
    this.historyFd = openSync(this.historyFile, 'w');
    this.recorder = new ChaosRecorder({ wallMs: () => Date.now(), monoMs: () => performance.now() }, (record, line) => {
      this.records.push(record);
      // After close() (an interrupted run), a client finishing its last call has nowhere to write.
      if (this.historyFd !== undefined) writeSync(this.historyFd, `${line}\n`);
    });
  }

  async run(): Promise<ChaosRunResult> {
    const { options } = this;
    const schedule = nemesisSchedule({
      seed: options.seed,
      durationMs: options.durationMs,
      kinds: options.nemeses,
      targets: options.targets,
      warmUpMs,
      healMs,
      quietMs,
    });
    this.log(`launching the fleet on ${options.subnet}.x; ${schedule.length} faults scheduled`);
    if (options.bugs.length > 0) this.log(`planted bugs switched on: ${options.bugs.join(', ')}`);
    this.network = IptablesFaults.open();
    // A delay run that died leaves redirects to proxies that are gone: no fleet link would work.
    removeStaleDelayChains();
    if (options.nemeses.includes('clock-skew')) {
      const library = findLibfaketime();
      if (library === undefined) throw new Error('clock-skew needs libfaketime (the Debian package faketime)');
      this.clocks = new ClockFaults(library, join(options.outDir, 'clocks'));
    }
    this.launched = await launchComposeFleet(options.composeFile, {
      subnet: options.subnet,
      projectDir: options.projectDir,
      portOffset: options.portOffset,
      readyTimeoutMs: 120_000,
      beforeStart: async (plan) => {
        if (!options.nemeses.includes('delay')) return;
        // Every port of every service, redirected through the proxies before anyone connects.
        this.delays = await LinkDelays.open({
          proxyHost: `${options.subnet}.${delayProxyHost}`,
          sources: `${options.subnet}.0/24`,
          destinations: plan.services.flatMap(({ address, ports }) => ports.map((port) => ({ address, port }))),
          random: seededUniform(options.seed ^ 0xde1a7),
        });
      },
      serviceEnvironment: ({ name, address }): Record<string, string> => ({
        ...(this.clocks && clockedServices.test(name) ? this.clocks.environment(name) : {}),
        ...this.failpointEnvironment(name, address),
      }),
    });
    this.processes = new ProcessFaults(this.launched.fleet);
    this.coordinators = coordinatorNames.map((name) =>
      createClient(coordinatorV1.CoordinatorClient, (this.launched as ComposeFleet).address(name, 7001)),
    );
    await this.converged();
    const kv = new KvClient({
      endpoints: ['router-1', 'router-2'].map((name, index) =>
        (this.launched as ComposeFleet).address(name, 7200 + index),
      ),
      callTimeoutMs: options.workload.callTimeoutMs,
    });
    const locks = new LockClient({
      endpoints: ['lock-1', 'lock-2'].map((name) => (this.launched as ComposeFleet).address(name, 7300)),
      callTimeoutMs: options.lockWorkload.callTimeoutMs,
    });
    const workload = new KvWorkload(kv, this.recorder, { ...options.workload, seed: options.seed });
    const lockWorkload = new LockWorkload(locks, kv, this.recorder, { ...options.lockWorkload, seed: options.seed });
    const workloadStart = performance.now();
    const random = seededUniform(options.seed ^ 0x5eed);
    for (const fault of schedule) {
      await delay(Math.max(0, workloadStart + fault.startMs - performance.now()));
      await this.apply(fault, random);
    }
    await delay(Math.max(0, workloadStart + options.durationMs - performance.now()));
    await Promise.all([workload.stop(), lockWorkload.stop()]);
    kv.close();
    locks.close();
    const operations = workload.completed + lockWorkload.completed;
    this.log(`workload done: ${operations} operations; converging`);
    if (this.delays) this.log(`delay proxies: ${this.delays.connectionsRelayed} fleet connections relayed`);
    await this.converged();
    await this.finalReads();
    return this.check(operations, schedule.length);
  }

  /** The failpoint control address of a coordinator or replica, and the planted bugs of its service. */
  private failpointEnvironment(name: string, address: string): Record<string, string> {
    if (!bulwarkServices.test(name)) return {};
    const bugs = this.options.bugs.filter((bug) =>
      failpointCatalog[bug].services.some((service) => name.startsWith(`${service}-`)),
    );
    return {
      BULWARK_FAILPOINTS_ADDR: `${address}:${failpointPort}`,
      ...(bugs.length > 0 ? { [failpointsVariable]: bugs.map((bug) => `${bug}=on`).join(';') } : {}),
    };
  }

  /** Undoes every fault and stops the fleet: safe to call more than once, and after a failure. */
  async close(): Promise<void> {
    try {
      this.processes?.resumeAll();
      this.network?.close();
      for (const client of this.coordinators) client.close();
      this.coordinators = [];
      await this.launched?.stop();
      this.launched = undefined;
    } finally {
      // The redirects go last, whatever failed before: left behind, they would cut every later fleet's links.
      await this.delays?.close();
      this.delays = undefined;
      if (this.historyFd !== undefined) closeSync(this.historyFd);
      this.historyFd = undefined;
    }
  }

  private async apply(fault: ScheduledFault, random: () => number): Promise<void> {
    const launched = this.launched as ComposeFleet;
    const { target, peers } = await this.resolve(fault.target, random);
    const recorded: RecordedTarget[] = [target];
    const address = launched.fleet.service(target.member).address;
    const peerAddresses = peers.map((peer) => launched.fleet.service(peer).address);
    const others = launched.fleet
      .services()
      .map((service) => service.address)
      .filter((other) => other !== address);
    const network = this.network as IptablesFaults;
    const processes = this.processes as ProcessFaults;
    const links: string[] = [];
    const healLinks = () => links.splice(0).forEach((key) => network.heal(key));
    // What the fault is, what puts it in force (recorded as started first) and what heals it.
    let detail: string;
    /** isolate-kill: how long after the first rule the kill landed, as measured. */
    let killedAfterMs: number | undefined;
    let inject: () => Promise<void> | void;
    let heal: () => Promise<void> | void;
    switch (fault.kind) {
      case 'kill':
        detail = 'SIGKILL, restarted when healed';
        inject = () => processes.kill(target.member);
        heal = () => processes.restart(target.member);
        break;
      case 'pause-short':
      case 'pause-long':
        detail = `SIGSTOP for ${fault.durationMs} ms`;
        inject = () => processes.pause(target.member);
        heal = () => processes.resume(target.member);
        break;
      case 'partition':
      case 'partition-one-way': {
        const oneWay = fault.kind === 'partition-one-way';
        detail = oneWay ? `everything ${address} sends dropped` : `${address} cut off from the fleet`;
        inject = () => void links.push(...network.partition([address], others, oneWay));
        heal = healLinks;
        break;
      }
      case 'isolate':
        detail = `${address} cut off from its peers ${peers.join(', ')}`;
        inject = () => void links.push(...network.partition([address], peerAddresses));
        heal = healLinks;
        break;
      case 'isolate-kill':
        detail = `${address} cut off from its peers ${peers.join(', ')}, SIGKILL ${isolatedBeforeKillMs} ms later; restarted and reconnected when healed`;
        inject = async () => {
          const isolatedAt = performance.now();
          links.push(...network.partition([address], peerAddresses));
          await delay(Math.max(0, isolatedAt + isolatedBeforeKillMs - performance.now()));
          await processes.kill(target.member);
          killedAfterMs = Math.round(performance.now() - isolatedAt);
          // Past the ack timeout, the primary may have dropped its backups from the in-sync set first.
          if (killedAfterMs > ackTimeoutMs) this.log(`fault ${fault.id}: killed ${killedAfterMs} ms after isolation`);
        };
        heal = async () => {
          healLinks();
          await processes.restart(target.member);
        };
        break;
      case 'clock-skew': {
        const clocks = this.clocks as ClockFaults;
        const offset = clockJumps[Math.floor(random() * clockJumps.length)] as string;
        detail = `wall clock moved ${offset} (its monotonic clock untouched)`;
        inject = () => clocks.jump(target.member, offset);
        heal = () => clocks.heal(target.member);
        break;
      }
      case 'delay': {
        const delays = this.delays as LinkDelays;
        detail = `every link to and from ${address} held ${linkDelayMs.low}-${linkDelayMs.high} ms each way`;
        inject = () => delays.delay(address);
        heal = () => delays.heal(address);
        break;
      }
      case 'loss':
        detail = `half the packets to and from ${address} dropped`;
        inject = () => {
          for (const other of others) {
            links.push(network.add({ kind: 'loss', from: address, to: other, probability: 0.5 }));
            links.push(network.add({ kind: 'loss', from: other, to: address, probability: 0.5 }));
          }
        };
        heal = healLinks;
        break;
      case 'failpoint':
      case 'disk-error':
      case 'disk-full':
      case 'power-loss': {
        const { points, term } = failpointFaults[fault.kind];
        const candidates = points[target.group === null ? 'coordinator' : 'replica'];
        const point = candidates[Math.floor(random() * candidates.length)] as FailpointName;
        detail = `${point}=${term}`;
        inject = () => this.setFailpoint(address, point, term);
        heal = () => this.setFailpoint(address, point, 'off');
        break;
      }
    }
    this.log(`fault ${fault.id}: ${fault.kind} ${target.member} (${detail})`);
    const startedAt = performance.now();
    const active = this.recorder.startFault(fault.kind, recorded, detail);
    await inject();
    await delay(Math.max(0, startedAt + fault.durationMs - performance.now()));
    await heal();
    active.end(killedAfterMs === undefined ? 'healed' : `healed; killed ${killedAfterMs} ms after isolation`);
  }

  /**
   * The member a fault hits, from the topology as it is now, and its peers:
   * the other replicas of its group, or the other coordinators (routers,
   * lock instances and Redis servers have none).
   */
  private async resolve(
    target: FaultTarget,
    random: () => number,
  ): Promise<{ target: RecordedTarget; peers: string[] }> {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const topology = await this.topology();
    const groups = topology.groups.filter((group) => group.primary !== '');
    const independent = (member: string) => ({ target: { member, group: null, primary: false }, peers: [] });
    const coordinator = (member: string) => ({
      target: { member, group: null, primary: false },
      peers: coordinatorNames.filter((other) => other !== member),
    });
    switch (target) {
      case 'primary': {
        const group = pick(groups);
        return {
          target: { member: group.primary, group: group.id, primary: true },
          peers: group.members.filter((member) => member !== group.primary),
        };
      }
      case 'backup': {
        const group = pick(groups);
        const member = pick(group.members.filter((other) => other !== group.primary));
        return {
          target: { member, group: group.id, primary: false },
          peers: group.members.filter((other) => other !== member),
        };
      }
      case 'coordinator-leader': {
        const leader = await Promise.any(
          this.coordinators.map((client) => callUnary(client, client.getLeader, {}, { deadlineMs: 2_000 })),
        );
        return coordinator(leader.leaderId);
      }
      case 'coordinator':
        return coordinator(pick(coordinatorNames));
      case 'router':
        return independent(pick(['router-1', 'router-2']));
      case 'lock':
        return independent(pick(['lock-1', 'lock-2']));
      case 'redis':
        return independent(pick(['redis-1', 'redis-2', 'redis-3']));
    }
  }

  /**
   * Sets a failpoint over the member's control endpoint. A member restarting
   * from an earlier fault is waited for (a bounded while); switching off one
   * that crashed at the point needs nothing: it restarts with every point off.
   */
  private async setFailpoint(address: string, name: string, term: string): Promise<void> {
    const url = `http://${address}:${failpointPort}/failpoints/${name}`;
    const request = term === 'off' ? { method: 'DELETE' } : { method: 'PUT', body: term };
    const deadline = performance.now() + failpointReachMs;
    for (;;) {
      try {
        const response = await fetch(url, request);
        if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
        return;
      } catch (error) {
        if (term === 'off') return;
        if (performance.now() >= deadline) throw error;
        await delay(100);
      }
    }
  }

  private async topology(): Promise<coordinatorV1.Topology> {
    const answer = await Promise.any(
      this.coordinators.map((client) => callUnary(client, client.getTopology, {}, { deadlineMs: 2_000 })),
    );
    return answer.topology as coordinatorV1.Topology;
  }

  /** Until every group has a primary and all its members in sync (the fleet healed and caught up). */
  private async converged(): Promise<coordinatorV1.Topology> {
    const deadline = performance.now() + convergeTimeoutMs;
    let last = 'no topology yet';
    while (performance.now() < deadline) {
      try {
        const topology = await this.topology();
        const behind = topology.groups.filter(
          (group) => group.primary === '' || group.inSync.length !== group.members.length,
        );
        if (topology.groups.length > 0 && behind.length === 0) return topology;
        last = behind.map((group) => `${group.id} in sync: ${group.inSync.join(',') || '-'}`).join('; ');
      } catch (error) {
        last = String(error);
      }
      await delay(250);
    }
    throw new Error(`the fleet did not converge within ${convergeTimeoutMs} ms: ${last}`);
  }

  /** Every key of the run (the lock data keys too), read from every replica of its group (EVENTUAL: what that replica holds). */
  private async finalReads(): Promise<void> {
    const launched = this.launched as ComposeFleet;
    const topology = await this.topology();
    const ring = hashRingOf(topology.ring);
    if (!ring) throw new Error('the topology has no ring');
    const keys = [
      ...workloadKeys(this.options.workload.keys),
      ...lockNames(this.options.lockWorkload.locks).map(lockDataKey),
    ];
    for (const group of topology.groups) {
      const owned = keys.filter((key) => ring.lookup(key) === group.id);
      for (const member of group.members) {
        const shard = createClient(shardV1.ShardClient, launched.fleet.service(member).address + ':7100');
        try {
          const values = new Map<string, string | null>();
          for (const key of owned) {
            const answer = await callUnary(
              shard,
              shard.get,
              {
                groupId: group.id,
                request: { key, consistency: kvV1.Consistency.CONSISTENCY_EVENTUAL, maxStalenessMs: 0 },
              },
              { deadlineMs: 5_000 },
            );
            const kv = answer.response?.kv;
            values.set(key, answer.response?.found && kv ? kv.value.toString() : null);
          }
          this.recorder.finalRead(group.id, member, digestOf(values), values);
        } catch (error) {
          this.recorder.finalReadFailed(group.id, member, String(error));
        } finally {
          shard.close();
        }
      }
    }
  }

  private check(operations: number, faults: number): ChaosRunResult {
    const { outDir, seed, durationMs, command } = this.options;
    // Indexed once for the checkers and the report's figures.
    const history = indexChaosHistory(this.records);
    const report = checkChaosHistory(history, {
      asyncLossWindow: { beforeFaultMs: 1_000, afterFaultMs: 1_000 },
      anomaliesMax: 10,
    });
    const figures = reportFigures(history, report);
    const register = toRegisterHistory(history);
    writeFileSync(join(outDir, 'check-history.jsonl'), formatHistoryJsonLines(register.operations));
    const reportFile = join(outDir, 'report.html');
    writeFileSync(reportFile, renderChaosReport(figures, { title: `Bulwark chaos run, seed ${seed}`, seed, command }));
    const summaryFile = join(outDir, 'summary.json');
    writeFileSync(
      summaryFile,
      `${JSON.stringify(
        { seed, durationMs, command, operations, faults, figures, report },
        (_, value: unknown) =>
          typeof value === 'bigint' ? String(value) : value instanceof Map ? Object.fromEntries(value) : value,
        2,
      )}\n`,
    );
    this.log(`run took ${Math.round((performance.now() - this.startedAt) / 1000)} s`);
    return { report, operations, faults, historyFile: this.historyFile, summaryFile, reportFile };
  }
}

/** A replica's state over the run's keys: the same values give the same digest. */
function digestOf(values: ReadonlyMap<string, string | null>): string {
  const hash = createHash('sha256');
  for (const key of [...values.keys()].sort()) hash.update(JSON.stringify([key, values.get(key)]));
  return hash.digest('hex').slice(0, 16);
}

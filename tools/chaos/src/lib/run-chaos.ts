// One chaos run: the compose fleet through the launcher users use, a seeded
// KV workload recorded as a chaos history, the seeded nemesis schedule
// applied to members found in the topology when each fault starts, every
// fault healed, the fleet left to converge, a final read of every key on
// every replica, and the checkers. Every fault the run made is undone when
// it ends, also when it fails or is interrupted (close()).
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
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
import { renderChaosReport, reportFigures, type ReportFigures } from '@bulwark/chaos-report';
import { coordinatorV1, kvV1, replicationV1, shardV1 } from '@bulwark/contracts';
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
import { allWorkloadKeys, KvWorkload, workloadKeys, type KvWorkloadOptions } from './kv-workload';
import { LockWorkload, lockDataKey, lockNames, type LockWorkloadOptions } from './lock-workload';
import { nemesisSchedule, type FaultTarget, type NemesisKind, type ScheduledFault } from './nemesis-schedule';
import { ProcessFaults } from './process-faults';
import { chaosVerdict, type ChaosVerdict } from './verdict';

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
  readonly figures: ReportFigures;
  /** Whether the run passed, and why not. */
  readonly verdict: ChaosVerdict;
  readonly operations: number;
  /** Faults put in force (scheduled ones whose target could not be found are skipped, and logged). */
  readonly faults: number;
  /** What stopped the run before its end (the checkers then judged what was recorded until then). */
  readonly failure?: string;
  readonly historyFile: string;
  readonly summaryFile: string;
  /** The self-contained HTML page of the run. */
  readonly reportFile: string;
}

const warmUpMs = 5_000;
const healMs = 15_000;
const quietMs = 2_000;
const convergeTimeoutMs = 60_000;
/** The event-loop delay histogram's timer interval. */
const loopDelayResolutionMs = 10;
/** How long the final reads wait for a converged group's members to apply the same sequence. */
const quiesceTimeoutMs = 10_000;
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
/**
 * Replicas snapshot this often in a chaos run (the compose default is
 * 100,000 entries, which a run never reaches): snapshots, compaction and
 * snapshot installs at a backup's return then happen many times a run, and
 * the failpoints around them are reached.
 */
const snapshotEveryEntries = 200;
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
  /**
   * This process's event-loop delay over the run: every record's time is
   * taken on it, so a slow loop widens operations' windows (and makes the
   * checkers more lenient); the summary says by how much.
   */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });

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
    this.loopDelay.enable();
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
        ...(name.startsWith('replica-') ? { BULWARK_SNAPSHOT_EVERY_ENTRIES: String(snapshotEveryEntries) } : {}),
        ...(this.clocks && clockedServices.test(name) ? this.clocks.environment(name) : {}),
        ...this.failpointEnvironment(name, address),
      }),
    });
    const launched = this.launched;
    this.processes = new ProcessFaults(launched.fleet);
    this.coordinators = coordinatorNames.map((name) =>
      createClient(coordinatorV1.CoordinatorClient, launched.address(name, 7001)),
    );
    await this.converged();
    // A client of its own for every workload client, each starting at the next router (lock instance): a fault
    // on any of them hits some clients, and clients see two routers' views of a failover at once.
    const routers = ['router-1', 'router-2'].map((name, index) => launched.address(name, 7200 + index));
    const lockInstances = ['lock-1', 'lock-2'].map((name) => launched.address(name, 7300));
    const clients: { close(): void }[] = [];
    const kvClientFor = (index: number) => {
      const client = new KvClient({
        endpoints: rotated(routers, index),
        callTimeoutMs: options.workload.callTimeoutMs,
      });
      clients.push(client);
      return client;
    };
    const lockClientFor = (index: number) => {
      const client = new LockClient({
        endpoints: rotated(lockInstances, index),
        callTimeoutMs: options.lockWorkload.callTimeoutMs,
      });
      clients.push(client);
      return client;
    };
    const workload = new KvWorkload(kvClientFor, this.recorder, { ...options.workload, seed: options.seed });
    const lockWorkload = new LockWorkload(
      // Lock clients after the KV clients in the rotation.
      (index) => ({ locks: lockClientFor(index), kv: kvClientFor(options.workload.clients + index) }),
      this.recorder,
      { ...options.lockWorkload, seed: options.seed },
    );
    const workloadStart = performance.now();
    const random = seededUniform(options.seed ^ 0x5eed);
    let faults = 0;
    let failure: string | undefined;
    try {
      for (const fault of schedule) {
        await delay(Math.max(0, workloadStart + fault.startMs - performance.now()));
        if (await this.apply(fault, random)) faults += 1;
      }
      await delay(Math.max(0, workloadStart + options.durationMs - performance.now()));
    } catch (error) {
      failure = describeFailure(error);
    }
    await Promise.all([workload.stop(), lockWorkload.stop()]);
    this.loopDelay.disable();
    for (const client of clients) client.close();
    const operations = workload.completed + lockWorkload.completed;
    this.log(`workload done: ${operations} operations; converging`);
    if (this.delays) this.log(`delay proxies: ${this.delays.connectionsRelayed} fleet connections relayed`);
    if (failure === undefined) {
      try {
        await this.converged();
        await this.finalReads();
      } catch (error) {
        failure = describeFailure(error);
      }
    }
    // The checkers may take a while: the fleet is not needed for them.
    await this.close();
    if (failure !== undefined) this.log(`run failed: ${failure}; checking what was recorded until then`);
    return this.check(operations, faults, failure);
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

  /**
   * Undoes every fault and stops the fleet: safe to call more than once, and
   * after a failure. Every step is tried whatever the ones before did; the
   * redirects go last: left behind, they would cut every later fleet's links.
   */
  async close(): Promise<void> {
    const steps: (() => Promise<void> | void)[] = [
      () => this.processes?.resumeAll(),
      () => this.network?.close(),
      () => {
        for (const client of this.coordinators.splice(0)) client.close();
      },
      async () => {
        const launched = this.launched;
        this.launched = undefined;
        await launched?.stop();
      },
      async () => {
        const delays = this.delays;
        this.delays = undefined;
        await delays?.close();
      },
      () => {
        if (this.historyFd !== undefined) closeSync(this.historyFd);
        this.historyFd = undefined;
      },
    ];
    const errors: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `closing the chaos run: ${errors.map(String).join('; ')}`);
  }

  /**
   * Puts one fault in force for its time and heals it; false when it was
   * skipped: no member fits its target now (no group has a primary, no
   * leader is known, the member is restarting from an earlier fault).
   */
  private async apply(fault: ScheduledFault, random: () => number): Promise<boolean> {
    const launched = this.launched as ComposeFleet;
    let resolved: Awaited<ReturnType<ChaosRun['resolve']>>;
    try {
      resolved = await this.resolve(fault.target, random);
      if (launched.fleet.service(resolved.target.member).pid === undefined) {
        throw new Error(`${resolved.target.member} is not running (restarting from an earlier fault)`);
      }
    } catch (error) {
      this.log(`fault ${fault.id}: ${fault.kind} on the ${fault.target} skipped: ${describeFailure(error)}`);
      return false;
    }
    const { target, peers } = resolved;
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
        let armedPid: number | undefined;
        inject = async () => {
          await this.setFailpoint(address, point, term);
          armedPid = launched.fleet.service(target.member).pid;
        };
        heal = async () => {
          // Every term here ends the process when it fires (a crash, or an I/O error the store cannot go on
          // after): a new process, or none yet, says it fired; the same one that it was never reached.
          fired = launched.fleet.service(target.member).pid !== armedPid;
          await this.setFailpoint(address, point, 'off');
        };
        break;
      }
    }
    let fired: boolean | undefined;
    this.log(`fault ${fault.id}: ${fault.kind} ${target.member} (${detail})`);
    const startedAt = performance.now();
    const active = this.recorder.startFault(fault.kind, recorded, detail);
    try {
      await inject();
    } catch (error) {
      // Whatever part of it is in force is undone; the record says it was not applied.
      await Promise.resolve()
        .then(heal)
        .catch(() => undefined);
      active.end(`not applied: ${describeFailure(error)}`);
      this.log(`fault ${fault.id}: not applied: ${describeFailure(error)}`);
      return true;
    }
    await delay(Math.max(0, startedAt + fault.durationMs - performance.now()));
    await heal();
    const notes = [
      'healed',
      ...(killedAfterMs === undefined ? [] : [`killed ${killedAfterMs} ms after isolation`]),
      ...(fired === undefined ? [] : [fired ? 'the failpoint fired' : 'the failpoint never fired']),
    ];
    active.end(notes.join('; '));
    return true;
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
    const { groups } = topology;
    const independent = (member: string) => ({ target: { member, group: null, primary: false }, peers: [] });
    const coordinator = (member: string) => ({
      target: { member, group: null, primary: false },
      peers: coordinatorNames.filter((other) => other !== member),
    });
    switch (target) {
      case 'primary': {
        const group = pick(withPrimary(groups));
        return {
          target: { member: group.primary, group: group.id, primary: true },
          peers: group.members.filter((member) => member !== group.primary),
        };
      }
      case 'backup': {
        const group = pick(withPrimary(groups));
        const member = pick(group.members.filter((other) => other !== group.primary));
        return {
          target: { member, group: group.id, primary: false },
          peers: group.members.filter((other) => other !== member),
        };
      }
      case 'coordinator-leader': {
        // Any coordinator answers with the leader it knows; one that knows none (just restarted) is passed over.
        const leaderId = await Promise.any(
          this.coordinators.map(async (client) => {
            const { leaderId: known } = await callUnary(client, client.getLeader, {}, { deadlineMs: 2_000 });
            if (known === '') throw new Error('no leader known');
            return known;
          }),
        ).catch(() => {
          throw new Error('no coordinator knows a leader now');
        });
        return coordinator(leaderId);
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
    ).catch((error: unknown) => {
      const first = error instanceof AggregateError ? describeFailure(error.errors[0]) : describeFailure(error);
      throw new Error(`no coordinator answered GetTopology (the first: ${first})`);
    });
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

  /**
   * Every key of the run (the lock data keys too), read from every replica of
   * its group (EVENTUAL: what that replica holds), with the replica's own
   * digest of its whole state (values, versions, fences, remembered request
   * ids). Taken once the group is quiet: the digests come from one round in
   * which every member reported the same applied sequence (a backup learns
   * the last commit point from the next heartbeat, and a primary handed back
   * to its preferred member starts its epoch with an entry of its own).
   */
  private async finalReads(): Promise<void> {
    const launched = this.launched as ComposeFleet;
    const topology = await this.topology();
    const ring = hashRingOf(topology.ring);
    if (!ring) throw new Error('the topology has no ring');
    const keys = [
      ...allWorkloadKeys(workloadKeys(this.options.workload.keys)),
      ...lockNames(this.options.lockWorkload.locks).map(lockDataKey),
    ];
    for (const group of topology.groups) {
      const owned = keys.filter((key) => ring.lookup(key) === group.id);
      const address = (member: string) => `${launched.fleet.service(member).address}:7100`;
      const digests = await this.quietDigests(group, address);
      for (const member of group.members) {
        const digest = digests.get(member) as string | Error;
        if (digest instanceof Error) {
          this.recorder.finalReadFailed(group.id, member, String(digest));
          continue;
        }
        const shard = createClient(shardV1.ShardClient, address(member));
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
          this.recorder.finalRead(group.id, member, digest, values);
        } catch (error) {
          this.recorder.finalReadFailed(group.id, member, String(error));
        } finally {
          shard.close();
        }
      }
    }
  }

  /**
   * Each member's state digest (as `<digest>@<applied sequence>`), from the
   * first round of GetStatus in which all members answered at the same
   * applied sequence; after quiesceTimeoutMs, the last round's, differing
   * (the convergence checker reports them), or the error of a member that
   * did not answer.
   */
  private async quietDigests(
    group: coordinatorV1.ReplicaGroup,
    address: (member: string) => string,
  ): Promise<Map<string, string | Error>> {
    const clients = group.members.map((member) => createClient(replicationV1.ReplicationClient, address(member)));
    const deadline = performance.now() + quiesceTimeoutMs;
    try {
      for (;;) {
        const round = await Promise.all(
          clients.map((client) =>
            callUnary(client, client.getStatus, { groupId: group.id, includeStateDigest: true }, { deadlineMs: 2_000 })
              .then((status) => `${status.stateDigest?.toString(16).padStart(16, '0')}@${status.appliedSequence}`)
              .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
          ),
        );
        const sequences = new Set(round.map((digest) => (digest instanceof Error ? digest : digest.split('@')[1])));
        if (sequences.size === 1 || performance.now() >= deadline) {
          if (sequences.size > 1) this.log(`${group.id} did not quiesce within ${quiesceTimeoutMs} ms`);
          return new Map(group.members.map((member, index) => [member, round[index] as string | Error]));
        }
        await delay(100);
      }
    } finally {
      for (const client of clients) client.close();
    }
  }

  /** The chaos process's event-loop delay while the workload ran, in ms. */
  private eventLoopDelay(): { p50: number; p99: number; max: number } {
    // The histogram holds whole timer intervals: the delay is what exceeds the resolution.
    const ms = (nanoseconds: number) =>
      Math.max(0, Math.round((nanoseconds / 1e6 - loopDelayResolutionMs) * 100) / 100);
    return {
      p50: ms(this.loopDelay.percentile(50)),
      p99: ms(this.loopDelay.percentile(99)),
      max: ms(this.loopDelay.max),
    };
  }

  private check(operations: number, faults: number, failure: string | undefined): ChaosRunResult {
    const { outDir, seed, durationMs, command } = this.options;
    // Indexed once for the checkers and the report's figures.
    const history = indexChaosHistory(this.records);
    const report = checkChaosHistory(history, {
      asyncLossWindow: { beforeFaultMs: 1_000, afterFaultMs: 1_000 },
      anomaliesMax: 10,
    });
    const figures = reportFigures(history, report);
    const verdict = chaosVerdict({ report, figures, ...(failure === undefined ? {} : { failure }) });
    const register = toRegisterHistory(history);
    writeFileSync(join(outDir, 'check-history.jsonl'), formatHistoryJsonLines(register.operations));
    const reportFile = join(outDir, 'report.html');
    writeFileSync(reportFile, renderChaosReport(figures, { title: `Bulwark chaos run, seed ${seed}`, seed, command }));
    const summaryFile = join(outDir, 'summary.json');
    writeFileSync(
      summaryFile,
      `${JSON.stringify(
        {
          seed,
          durationMs,
          command,
          passed: verdict.passed,
          verdict: verdict.lines,
          operations,
          faults,
          eventLoopDelayMs: this.eventLoopDelay(),
          figures,
          report,
        },
        (_, value: unknown) =>
          typeof value === 'bigint' ? String(value) : value instanceof Map ? Object.fromEntries(value) : value,
        2,
      )}\n`,
    );
    this.log(`run took ${Math.round((performance.now() - this.startedAt) / 1000)} s`);
    return {
      report,
      figures,
      verdict,
      operations,
      faults,
      historyFile: this.historyFile,
      summaryFile,
      reportFile,
      ...(failure === undefined ? {} : { failure }),
    };
  }
}

/** The groups that have a primary now; an error when none has. */
function withPrimary(groups: readonly coordinatorV1.ReplicaGroup[]): coordinatorV1.ReplicaGroup[] {
  const serving = groups.filter((group) => group.primary !== '');
  if (serving.length === 0) throw new Error('no group has a primary now');
  return serving;
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The items from the one at `start` (modulo their count) on, then the rest. */
function rotated<T>(items: readonly T[], start: number): T[] {
  const from = start % items.length;
  return [...items.slice(from), ...items.slice(0, from)];
}

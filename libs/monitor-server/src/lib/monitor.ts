// The monitor: follows the coordinators' topology, probes every member
// (member-prober.ts) and judges it with its own phi-accrual detector
// (MemberHealth), reports a primary or coordinator leader it finds DOWN to
// the coordinator leader (which confirms with its own probe before failing
// over: a report alone moves nothing), and keeps the availability ledger of
// every member, group and canary on disk. Each is counted from the first
// time it served (a heartbeat, a primary UP, a canary that passed): a
// member still starting up has not failed yet. Everything it knows is one
// MonitorView, rebuilt on demand for GetStatus, WatchStatus and the
// dashboard; listeners hear of changes, coalesced.
import { performance } from 'node:perf_hooks';
import type { coordinatorV1 } from '@bulwark/contracts';
import {
  CoordinatorCaller,
  CoordinatorClients,
  hashRingOf,
  memberRoleName,
  TopologyWatcher,
  type MemberRoleName,
} from '@bulwark/coordinator-client';
import type { PhiAccrualSettings } from '@bulwark/failure-detection';
import { ResourceExhaustedError } from '@bulwark/errors';
import type { Logger } from '@bulwark/logging';
import {
  AvailabilityLedger,
  MemberHealth,
  type HealthChange,
  type Instant,
  type SubjectRef,
} from '@bulwark/monitor-core';
import { callUnary } from '@bulwark/rpc';
import type { CanaryRun } from './canaries';
import type { LedgerFile } from './ledger-file';
import { MemberProber } from './member-prober';

export interface MonitorOptions {
  /** This monitor's member id: it does not watch itself, and names its reports. */
  readonly memberId: string;
  /** host:port of every coordinator. */
  readonly coordinators: readonly string[];
  readonly logger: Logger;
  /** Between two health probes of a member. */
  readonly probeIntervalMs: number;
  /** Longest a probe may take before it counts as silence. */
  readonly probeDeadlineMs: number;
  readonly phi?: Partial<PhiAccrualSettings>;
  /** Whether DOWN primaries and leaders are reported to the coordinator leader (off: watch only). */
  readonly reportSuspects: boolean;
  /** Where the availability ledger is kept across restarts. */
  readonly ledgerFile: LedgerFile;
  /** The ledger as last saved (LedgerFile.load()); a new one when there was none. */
  readonly ledger: AvailabilityLedger;
  /** Between two evaluations of every member's silence and every group (evaluateIntervalMs unless set). */
  readonly evaluateIntervalMs?: number;
  /** Clocks: monotonic for the detectors, wall for what is reported and kept. */
  readonly nowMonoMs?: () => number;
  readonly nowUnixMs?: () => number;
}

export interface WatchedMemberView {
  readonly id: string;
  readonly role: MemberRoleName;
  readonly address: string;
  readonly groupId: string;
  readonly metricsAddress: string;
  readonly state: MemberHealth['state'];
  readonly phi: number;
  readonly lastHeartbeatUnixMs: number | null;
  readonly stateSinceUnixMs: number;
  /** The coordinator leader, or its group's primary. */
  readonly leading: boolean;
}

export interface GroupView {
  readonly id: string;
  readonly epoch: bigint;
  readonly primary: string;
  readonly members: readonly string[];
  readonly inSync: readonly string[];
  readonly mode: coordinatorV1.ReplicationMode;
  readonly available: boolean;
}

export interface FailoverRecord {
  readonly groupId: string;
  readonly epoch: bigint;
  readonly fromPrimary: string;
  readonly toPrimary: string;
  /** When the monitor found the old primary DOWN; null when it did not (a manual handover). */
  readonly detectedUnixMs: number | null;
  /** When the monitor saw the new epoch. */
  readonly completedUnixMs: number;
  /** From the old primary's last heartbeat to the new epoch: the outage as clients saw it; null without one. */
  readonly durationMs: number | null;
}

/** A canary's last run, with its counts since the monitor started. */
export interface CanaryView extends CanaryRun {
  readonly runs: number;
  readonly failures: number;
}

export interface MonitorView {
  readonly atUnixMs: number;
  readonly leaderId: string;
  readonly topologyRevision: bigint;
  readonly members: readonly WatchedMemberView[];
  readonly groups: readonly GroupView[];
  readonly failovers: readonly FailoverRecord[];
  readonly canaries: readonly CanaryView[];
}

/** How often every detector is evaluated: well below the 1 s in which a DOWN member must be seen. */
export const evaluateIntervalMs = 25;
/** A gap between evaluations longer than this is the monitor's own pause, not the members' silence. */
export const localPauseMs = 500;
/** How often every coordinator is asked who leads (and its own id). */
export const leaderPollIntervalMs = 500;
/** A DOWN primary that is still primary is reported again after this (the leader may have probed it alive). */
export const reportRepeatMs = 2_000;
/** How often the ledger is written out. */
export const ledgerSaveIntervalMs = 5_000;
/** Changes are told to listeners at most this often. */
export const changeCoalesceMs = 100;
/** Failovers remembered for the status. */
export const failoverRecordsMax = 20;
/** Members watched at most (beyond the coordinators' own topology bound, as a guard). */
export const watchedMembersMax = 1_024;
/** Status listeners at most (WatchStatus streams, dashboard). */
export const monitorListenersMax = 256;

interface WatchedMember {
  id: string;
  readonly role: MemberRoleName;
  readonly address: string;
  readonly groupId: string;
  /** Follows the member's registration; a new one keeps its health (it is the same process, or its successor). */
  metricsAddress: string;
  readonly health: MemberHealth;
  readonly prober: MemberProber;
  /** When this member was last reported as suspect (monotonic), to repeat no faster than reportRepeatMs. */
  reportedAtMonoMs: number | null;
  reporting: boolean;
}

const coordinatorIdFor = (address: string) => `coordinator@${address}`;

export class Monitor {
  private readonly topology: TopologyWatcher;
  private readonly caller: CoordinatorCaller;
  /** Clients to each coordinator, for asking every one of them (not only the leader) who leads. */
  private readonly coordinatorClients: CoordinatorClients;
  private readonly watched = new Map<string, WatchedMember>();
  /** Coordinator ids by address, once each has said who it is. */
  private readonly coordinatorIds = new Map<string, string>();
  private readonly failovers: FailoverRecord[] = [];
  private readonly canaries = new Map<string, CanaryView>();
  private readonly listeners = new Set<() => void>();
  private readonly ledger: AvailabilityLedger;
  private readonly nowMonoMs: () => number;
  private readonly nowUnixMs: () => number;
  private readonly evaluateIntervalMs: number;
  private groups: readonly coordinatorV1.ReplicaGroup[] = [];
  /** What of the topology the view shows, as last seen: a change of anything else is no change. */
  private shownTopology = '';
  private lastEvaluatedMonoMs: number | null = null;
  private ring: ReturnType<typeof hashRingOf>;
  private topologyRevision = 0n;
  private leaderId = '';
  private leaderBallot: { round: bigint; nodeId: string } | undefined;
  private timers: NodeJS.Timeout[] = [];
  private changeTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: MonitorOptions) {
    this.nowMonoMs = options.nowMonoMs ?? (() => performance.now());
    this.nowUnixMs = options.nowUnixMs ?? anchoredWallClock(this.nowMonoMs);
    this.ledger = options.ledger;
    this.evaluateIntervalMs = options.evaluateIntervalMs ?? evaluateIntervalMs;
    this.topology = new TopologyWatcher({ coordinators: options.coordinators, logger: options.logger });
    this.caller = new CoordinatorCaller({ coordinators: options.coordinators, logger: options.logger });
    this.coordinatorClients = new CoordinatorClients(options.coordinators);
  }

  start(): void {
    const now = this.now();
    this.ledger.startWatching(now.unixMs);
    for (const address of this.options.coordinators) {
      this.watch({ id: coordinatorIdFor(address), role: 'coordinator', address, groupId: '', metricsAddress: '' }, now);
    }
    this.topology.onChange((topology) => this.topologyChanged(topology));
    this.topology.start();
    this.timers = [
      setInterval(() => this.evaluate(), this.evaluateIntervalMs),
      setInterval(() => void this.pollLeader(), leaderPollIntervalMs),
      setInterval(() => this.save(), ledgerSaveIntervalMs),
    ];
    void this.pollLeader();
  }

  /** Stops probing and watching, and writes the ledger out one last time. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.changeTimer);
    for (const member of this.watched.values()) member.prober.stop();
    this.topology.close();
    this.caller.close();
    this.coordinatorClients.close();
    this.ledger.watchedUntil(this.nowUnixMs());
    this.options.ledgerFile.save(this.ledger.snapshot());
  }

  /** Calls listener (coalesced) after any change of what view() returns; returns the function that removes it. */
  onChange(listener: () => void): () => void {
    if (this.listeners.size >= monitorListenersMax) {
      throw new ResourceExhaustedError('monitorListenersMax', `at most ${monitorListenersMax} status listeners`);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  view(): MonitorView {
    const now = this.now();
    const primaries = new Set(this.groups.map((group) => group.primary));
    const members = [...this.watched.values()]
      .map((member): WatchedMemberView => ({
        id: member.id,
        role: member.role,
        address: member.address,
        groupId: member.groupId,
        metricsAddress: member.metricsAddress,
        state: member.health.state,
        phi: member.health.phi(now.monoMs),
        lastHeartbeatUnixMs: member.health.lastHeartbeatUnixMs,
        stateSinceUnixMs: member.health.stateSinceUnixMs,
        leading: member.role === 'coordinator' ? member.id === this.leaderId : primaries.has(member.id),
      }))
      .sort((a, b) => Number(b.role === 'coordinator') - Number(a.role === 'coordinator') || compare(a.id, b.id));
    return {
      atUnixMs: now.unixMs,
      leaderId: this.leaderId,
      topologyRevision: this.topologyRevision,
      members,
      groups: this.groups.map((group) => ({
        id: group.id,
        epoch: group.epoch,
        primary: group.primary,
        members: group.members,
        inSync: group.inSync,
        mode: group.mode,
        available: this.groupAvailable(group),
      })),
      failovers: [...this.failovers],
      canaries: [...this.canaries.values()].sort((a, b) => compare(a.canaryId, b.canaryId)),
    };
  }

  /** The shard ring as the topology has it (undefined before it has groups): which group a key is in. */
  get hashRing(): ReturnType<typeof hashRingOf> {
    return this.ring;
  }

  /** The ledger, for availability figures (read only: the monitor alone writes it). */
  get availability(): Pick<AvailabilityLedger, 'figures' | 'tracked' | 'has'> {
    return this.ledger;
  }

  /**
   * Records a canary run (canaries run beside the monitor): a canary is down
   * from the start of its first failed run to the start of its next
   * successful one.
   */
  canaryRan(run: CanaryRun): void {
    const subject: SubjectRef = { kind: 'canary', id: run.canaryId };
    if (run.ok) this.track(subject, run.startUnixMs);
    if (this.ledger.has(subject)) {
      if (run.ok) this.ledger.up(subject, run.startUnixMs);
      else this.ledger.down(subject, run.startUnixMs);
    }
    const previous = this.canaries.get(run.canaryId);
    this.canaries.set(run.canaryId, {
      ...run,
      runs: (previous?.runs ?? 0) + 1,
      failures: (previous?.failures ?? 0) + (run.ok ? 0 : 1),
    });
    if (previous?.ok !== run.ok) this.changed();
  }

  /** Forgets the canaries no longer run (their router, lock service or group is gone). */
  retainCanaries(canaryIds: ReadonlySet<string>): void {
    const nowUnixMs = this.nowUnixMs();
    for (const id of this.canaries.keys()) {
      if (canaryIds.has(id)) continue;
      this.canaries.delete(id);
      const subject: SubjectRef = { kind: 'canary', id };
      if (this.ledger.has(subject)) this.ledger.up(subject, nowUnixMs);
    }
  }

  private now(): Instant {
    return { monoMs: this.nowMonoMs(), unixMs: this.nowUnixMs() };
  }

  private watch(member: Omit<WatchedMember, 'health' | 'prober' | 'reportedAtMonoMs' | 'reporting'>, at: Instant) {
    // An answer that arrives after stop() (a leader poll, a topology event) starts no new prober.
    if (this.stopped) return;
    if (this.watched.size >= watchedMembersMax) {
      this.options.logger.error({ watched: member.id }, `already watching ${watchedMembersMax} members; not watched`);
      return;
    }
    const watched: WatchedMember = {
      ...member,
      health: new MemberHealth(at, this.options.phi),
      prober: new MemberProber({
        address: member.address,
        intervalMs: this.options.probeIntervalMs,
        deadlineMs: this.options.probeDeadlineMs,
        onHeartbeat: () => {
          const now = this.now();
          this.track({ kind: 'member', id: watched.id }, now.unixMs);
          this.judged(watched, watched.health.heartbeat(now));
        },
        onRefused: (reason) => {
          const change = watched.health.refuse(this.now());
          if (change) this.options.logger.info({ watched: watched.id, reason }, 'member refused its probe');
          this.judged(watched, change);
        },
      }),
      reportedAtMonoMs: null,
      reporting: false,
    };
    this.watched.set(member.id, watched);
    watched.prober.start();
    this.changed();
  }

  /** Stops watching a member that left the topology; an outage it was in ends with the watch. */
  private unwatch(id: string, atUnixMs: number): void {
    const member = this.watched.get(id);
    if (!member) return;
    member.prober.stop();
    this.watched.delete(id);
    const subject: SubjectRef = { kind: 'member', id };
    if (this.ledger.has(subject)) this.ledger.up(subject, atUnixMs);
    this.changed();
  }

  private evaluate(): void {
    const now = this.now();
    const sinceLastMs = this.lastEvaluatedMonoMs === null ? 0 : now.monoMs - this.lastEvaluatedMonoMs;
    this.lastEvaluatedMonoMs = now.monoMs;
    // After a stall of the monitor itself (a GC, a starved process), the answers it has not read yet would
    // look like silence of every member: the stall is forgiven (Cassandra ignores such a round too).
    if (sinceLastMs > localPauseMs) {
      this.options.logger.warn({ pausedMs: Math.round(sinceLastMs) }, 'monitor paused; not counted as silence');
      for (const member of this.watched.values()) member.health.forgive(now, sinceLastMs - this.evaluateIntervalMs);
    }
    for (const member of this.watched.values()) {
      this.judged(member, member.health.evaluate(now));
      this.reconcile(member, now.unixMs);
    }
    for (const group of this.groups) this.judgeGroup(group, now.unixMs);
    this.ledger.watchedUntil(now.unixMs);
  }

  /**
   * A tracked member's ledger follows its state even where no change said
   * so: tracked while already DOWN (it answered once, then failed), or an
   * outage left open by an earlier run of the monitor.
   */
  private reconcile(member: WatchedMember, nowUnixMs: number): void {
    const subject: SubjectRef = { kind: 'member', id: member.id };
    if (!this.ledger.has(subject)) return;
    const down = this.ledger.isDown(subject);
    if (member.health.state === 'DOWN' && !down) {
      this.ledger.down(subject, member.health.lastHeartbeatUnixMs ?? nowUnixMs);
    } else if (member.health.state !== 'DOWN' && down) {
      this.ledger.up(subject, nowUnixMs);
    }
  }

  private judged(member: WatchedMember, change: HealthChange | undefined): void {
    if (this.stopped) return;
    if (member.health.state === 'DOWN') this.maybeReport(member);
    if (!change) return;
    const subject: SubjectRef = { kind: 'member', id: member.id };
    if (this.ledger.has(subject)) {
      if (change.outageStartUnixMs !== undefined) this.ledger.down(subject, change.outageStartUnixMs);
      if (change.outageEndUnixMs !== undefined) this.ledger.up(subject, change.outageEndUnixMs);
    }
    this.options.logger.info(
      { watched: member.id, role: member.role, from: change.from, to: change.to },
      'member state',
    );
    // Its groups follow at once, not at the next evaluation: a primary that went down and came back between
    // two (a starved monitor) would otherwise leave no group outage.
    const nowUnixMs = this.now().unixMs;
    for (const group of this.groups) if (group.primary === member.id) this.judgeGroup(group, nowUnixMs);
    this.changed();
  }

  /** A group is available while it has a primary the monitor does not see DOWN. */
  private groupAvailable(group: coordinatorV1.ReplicaGroup): boolean {
    const primary = this.watched.get(group.primary);
    return group.primary !== '' && primary !== undefined && primary.health.state !== 'DOWN';
  }

  private judgeGroup(group: coordinatorV1.ReplicaGroup, nowUnixMs: number): void {
    const subject: SubjectRef = { kind: 'group', id: group.id };
    const available = this.groupAvailable(group);
    if (available) this.track(subject, nowUnixMs);
    if (!this.ledger.has(subject)) return;
    const down = this.ledger.isDown(subject);
    if (available) {
      if (down) {
        this.ledger.up(subject, nowUnixMs);
        this.changed();
      }
    } else if (!down) {
      // Unavailable since its primary was last heard from, not since the verdict.
      const primary = this.watched.get(group.primary);
      this.ledger.down(subject, primary?.health.lastHeartbeatUnixMs ?? nowUnixMs);
      this.changed();
    }
  }

  /** Reports a DOWN primary or coordinator leader to the leader, at most every reportRepeatMs while it stays so. */
  private maybeReport(member: WatchedMember): void {
    if (!this.options.reportSuspects || member.reporting) return;
    const leads =
      member.role === 'coordinator'
        ? member.id === this.leaderId
        : this.groups.some((group) => group.primary === member.id);
    if (!leads) return;
    const nowMonoMs = this.nowMonoMs();
    if (member.reportedAtMonoMs !== null && nowMonoMs - member.reportedAtMonoMs < reportRepeatMs) return;
    member.reporting = true;
    member.reportedAtMonoMs = nowMonoMs;
    const phi = member.health.phi(nowMonoMs);
    this.caller
      .call(
        'reportSuspect',
        { reporterId: this.options.memberId, suspectId: member.id, phi: Number.isFinite(phi) ? phi : Number.MAX_VALUE },
        { deadlineMs: 5_000 },
      )
      .then(
        (answer) =>
          this.options.logger.warn(
            { suspect: member.id, failoverStarted: answer.failoverStarted },
            'reported a DOWN member to the coordinator leader',
          ),
        (error: unknown) => this.options.logger.warn({ err: error, suspect: member.id }, 'could not report a suspect'),
      )
      .finally(() => {
        member.reporting = false;
      });
  }

  private topologyChanged(topology: coordinatorV1.Topology): void {
    const now = this.now();
    this.recordFailovers(topology.groups, now.unixMs);
    // Lease renewals change the topology tens of times a second; only what the view shows is a change.
    const shown = JSON.stringify([
      topology.groups.map((group) => [
        group.id,
        String(group.epoch),
        group.primary,
        group.members,
        group.inSync,
        group.mode,
      ]),
      topology.members.map((member) => [member.id, member.address, member.metricsAddress]),
    ]);
    this.groups = topology.groups;
    this.ring = hashRingOf(topology.ring, this.ring);
    this.topologyRevision = topology.revision;
    if (shown === this.shownTopology) return;
    this.shownTopology = shown;
    const current = new Map(
      topology.members
        .filter((member) => member.id !== this.options.memberId && memberRoleName(member.role) !== undefined)
        .map((member) => [member.id, member]),
    );
    for (const [id, member] of this.watched) {
      if (member.role === 'coordinator') continue;
      const registered = current.get(id);
      if (!registered || registered.address !== member.address) this.unwatch(id, now.unixMs);
      else member.metricsAddress = registered.metricsAddress;
    }
    for (const [id, member] of current) {
      if (this.watched.has(id)) continue;
      const role = memberRoleName(member.role) as MemberRoleName;
      this.watch(
        { id, role, address: member.address, groupId: member.groupId, metricsAddress: member.metricsAddress },
        now,
      );
    }
    // A new group, or a new primary, is judged now, as a member's state change judges its groups.
    for (const group of this.groups) this.judgeGroup(group, now.unixMs);
    this.changed();
  }

  /** A group at a new epoch with another primary: a failover, timed from the old primary's last heartbeat. */
  private recordFailovers(groups: readonly coordinatorV1.ReplicaGroup[], nowUnixMs: number): void {
    const before = new Map(this.groups.map((group) => [group.id, group]));
    for (const group of groups) {
      const previous = before.get(group.id);
      if (!previous || group.epoch <= previous.epoch || group.primary === previous.primary) continue;
      const old = this.watched.get(previous.primary);
      const wasDown = old?.health.state === 'DOWN';
      const lastHeard = old?.health.lastHeartbeatUnixMs ?? null;
      this.failovers.unshift({
        groupId: group.id,
        epoch: group.epoch,
        fromPrimary: previous.primary,
        toPrimary: group.primary,
        detectedUnixMs: wasDown ? (old?.health.stateSinceUnixMs ?? null) : null,
        completedUnixMs: nowUnixMs,
        durationMs: wasDown && lastHeard !== null ? nowUnixMs - lastHeard : null,
      });
      this.failovers.length = Math.min(this.failovers.length, failoverRecordsMax);
      this.options.logger.warn(
        { group: group.id, epoch: String(group.epoch), from: previous.primary, to: group.primary },
        'failover seen',
      );
    }
  }

  /** Asks every coordinator who it is and whom it follows; the answer with the highest ballot names the leader. */
  private async pollLeader(): Promise<void> {
    if (this.stopped) return;
    await Promise.all(
      this.options.coordinators.map(async (address) => {
        const client = this.coordinatorClients.get(address);
        try {
          const answer = await callUnary(client, client.getLeader, {}, { deadlineMs: 300 });
          this.learnCoordinator(address, answer.header?.memberId ?? '');
          const ballot = answer.header?.ballot;
          if (answer.leaderId === '' || !ballot) return;
          const newer =
            !this.leaderBallot ||
            ballot.round > this.leaderBallot.round ||
            (ballot.round === this.leaderBallot.round && ballot.nodeId >= this.leaderBallot.nodeId);
          if (newer && answer.leaderId !== this.leaderId) {
            this.leaderId = answer.leaderId;
            this.options.logger.info({ leader: answer.leaderId }, 'coordinator leader');
            this.changed();
          }
          if (newer) this.leaderBallot = { round: ballot.round, nodeId: ballot.nodeId };
        } catch {
          // A coordinator that does not answer is its prober's business.
        }
      }),
    );
  }

  /** A coordinator watched under its address takes the id it gave; its ledger starts afresh under it. */
  private learnCoordinator(address: string, id: string): void {
    if (id === '' || this.coordinatorIds.get(address) === id) return;
    this.coordinatorIds.set(address, id);
    const provisional = coordinatorIdFor(address);
    if (!this.watched.has(provisional)) return;
    this.unwatch(provisional, this.nowUnixMs());
    this.ledger.forget({ kind: 'member', id: provisional });
    this.watch({ id, role: 'coordinator', address, groupId: '', metricsAddress: '' }, this.now());
  }

  private track(subject: SubjectRef, atUnixMs: number): void {
    if (this.ledger.has(subject)) return;
    try {
      this.ledger.track(subject, atUnixMs);
    } catch (error) {
      this.options.logger.error({ err: error, subject }, 'availability not tracked');
    }
  }

  /** Tells listeners, at most every changeCoalesceMs. */
  private changed(): void {
    if (this.changeTimer || this.stopped) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      for (const listener of this.listeners) {
        try {
          listener();
        } catch (error) {
          this.options.logger.error({ err: error }, 'monitor listener failed');
        }
      }
    }, changeCoalesceMs);
  }

  private save(): void {
    if (this.stopped) return;
    try {
      this.options.ledgerFile.save(this.ledger.snapshot());
    } catch (error) {
      this.options.logger.error({ err: error }, 'cannot save the availability ledger');
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Wall-clock ms that move with the monotonic clock: read once, then
 * advanced by monotonic time, so a clock step while the monitor runs cannot
 * stretch or shrink an outage (a restart reads the wall clock afresh).
 */
function anchoredWallClock(nowMonoMs: () => number): () => number {
  const wallAtAnchorMs = Date.now();
  const monoAtAnchorMs = nowMonoMs();
  return () => wallAtAnchorMs + (nowMonoMs() - monoAtAnchorMs);
}

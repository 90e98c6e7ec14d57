// One monitor process's parts, as apps/monitor wires them: the Monitor (its
// availability ledger loaded from the data directory first, so a damaged
// file stops the start with one line), the canaries through every router
// and lock service, the series sampled from the members' metrics,
// monitor.v1 over all of it, and the dashboard. Canary and series targets
// follow the topology.
import { formatHostPort, type HostPort } from '@bulwark/config';
import { startDashboardServer, type DashboardServer } from '@bulwark/dashboard';
import type { Logger } from '@bulwark/logging';
import type { HandlerKit, ServiceBinding } from '@bulwark/rpc';
import { Canaries, canaryIdOf, canaryKeyFor, type CanaryTarget } from './canaries';
import { dashboardSource } from './dashboard-source';
import { LedgerFile } from './ledger-file';
import { Monitor, type MonitorView, type WatchedMemberView } from './monitor';
import { countCanaryRun, readMonitorMetrics } from './monitor-metrics';
import { monitorService } from './monitor-service';
import { SeriesSampler, type SeriesTarget } from './series-sampler';

export interface MonitorNodeOptions {
  readonly memberId: string;
  readonly coordinators: readonly HostPort[];
  readonly dataDir: string;
  readonly probeIntervalMs: number;
  readonly probeDeadlineMs: number;
  readonly canaryIntervalMs: number;
  readonly reportSuspects: boolean;
  readonly dashboardAddress: HostPort | 'off';
  readonly logger: Logger;
}

export class MonitorNode {
  private readonly canaries: Canaries;
  private readonly series: SeriesSampler;
  private dashboard: DashboardServer | undefined;
  private stopReadingMetrics: (() => void) | undefined;
  /** What the canary and series targets were built from, to rebuild them only when it changes. */
  private targetsBuiltFrom = '';

  private constructor(
    private readonly options: MonitorNodeOptions,
    readonly monitor: Monitor,
  ) {
    this.canaries = new Canaries({
      monitorId: options.memberId,
      intervalMs: options.canaryIntervalMs,
      onRun: (run) => {
        monitor.canaryRan(run);
        countCanaryRun(run);
      },
      logger: options.logger,
    });
    this.series = new SeriesSampler({ logger: options.logger });
  }

  static open(options: MonitorNodeOptions): MonitorNode {
    const ledgerFile = new LedgerFile(options.dataDir);
    const monitor = new Monitor({
      memberId: options.memberId,
      coordinators: options.coordinators.map(formatHostPort),
      logger: options.logger,
      probeIntervalMs: options.probeIntervalMs,
      probeDeadlineMs: options.probeDeadlineMs,
      reportSuspects: options.reportSuspects,
      ledgerFile,
      ledger: ledgerFile.load(),
    });
    return new MonitorNode(options, monitor);
  }

  services(kit: HandlerKit): ServiceBinding[] {
    return [monitorService(kit, this.monitor, this.options.memberId)];
  }

  /** The dashboard's address once it serves, for the log and tests. */
  get dashboardUrl(): string | undefined {
    return this.dashboard?.url;
  }

  async start(): Promise<void> {
    this.monitor.onChange(() => this.retarget(this.monitor.view()));
    this.stopReadingMetrics = readMonitorMetrics(this.monitor);
    this.monitor.start();
    this.canaries.start();
    this.series.start();
    const address = this.options.dashboardAddress;
    if (address === 'off') return;
    this.dashboard = await startDashboardServer({
      host: address.host,
      port: address.port,
      logger: this.options.logger,
      source: dashboardSource({
        monitor: this.monitor,
        memberId: this.options.memberId,
        series: this.series,
        lag: () =>
          new Map(
            [...this.series.lagByMember()].map(([id, lag]) => [id, { entries: lag.entries, ms: lag.seconds * 1_000 }]),
          ),
      }),
    });
    this.options.logger.info({ url: this.dashboard.url }, 'serving the dashboard');
  }

  async stop(): Promise<void> {
    this.stopReadingMetrics?.();
    await this.dashboard?.close();
    await Promise.all([this.canaries.stop(), this.series.stop()]);
    this.monitor.stop();
  }

  /** Canaries through every router (one per group on the ring) and lock service; series from every member's metrics. */
  private retarget(view: MonitorView): void {
    const ring = this.monitor.hashRing;
    const routers = view.members.filter((member) => member.role === 'router');
    const locks = view.members.filter((member) => member.role === 'lock');
    const sampled = view.members.filter(
      (member) =>
        member.metricsAddress !== '' &&
        (member.role === 'router' || member.role === 'lock' || member.role === 'replica'),
    );
    const builtFrom = JSON.stringify([
      ring?.version.toString() ?? '',
      view.groups.map((group) => group.id),
      [...routers, ...locks, ...sampled].map((member) => [member.id, member.address, member.metricsAddress]),
    ]);
    if (builtFrom === this.targetsBuiltFrom) return;
    try {
      this.setTargets(view, ring, routers, locks, sampled);
      this.targetsBuiltFrom = builtFrom;
    } catch (error) {
      // Tried again at the next change, whatever it is.
      this.options.logger.error({ err: error }, 'cannot set the canary and series targets');
    }
  }

  private setTargets(
    view: MonitorView,
    ring: Monitor['hashRing'],
    routers: readonly WatchedMemberView[],
    locks: readonly WatchedMemberView[],
    sampled: readonly WatchedMemberView[],
  ): void {
    const canaryTargets: CanaryTarget[] = locks.map((lock) => ({
      kind: 'lock',
      lockId: lock.id,
      lockAddress: lock.address,
    }));
    if (ring) {
      const onRing = view.groups.filter((group) => ring.groupIds.includes(group.id));
      for (const router of routers) {
        for (const group of onRing) {
          const key = canaryKeyFor(group.id, (candidate) => ring.lookup(candidate), this.options.memberId, router.id);
          canaryTargets.push({
            kind: 'kv',
            routerId: router.id,
            routerAddress: router.address,
            groupId: group.id,
            key,
          });
        }
      }
    }
    this.canaries.setTargets(canaryTargets);
    this.monitor.retainCanaries(new Set(canaryTargets.map(canaryIdOf)));
    this.series.setTargets(
      sampled.map((member): SeriesTarget => ({
        memberId: member.id,
        role: member.role as SeriesTarget['role'],
        metricsAddress: member.metricsAddress,
      })),
    );
  }
}

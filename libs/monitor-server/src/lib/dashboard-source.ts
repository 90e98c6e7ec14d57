// What the dashboard shows, from the monitor's view, its availability
// ledger and the sampled series; told of changes when the monitor changes
// or a new point is sampled (the dashboard server coalesces the pushes).
import { coordinatorV1 } from '@bulwark/contracts';
import type { DashboardAvailability, DashboardSnapshot, DashboardSource, HealthState } from '@bulwark/dashboard';
import { availabilityWindowsMs, type AvailabilityWindow } from '@bulwark/monitor-core';
import type { Monitor } from './monitor';
import type { SeriesPoint } from './series-math';

/** Replication lag of one backup, as its primary last reported it. */
export interface MemberLag {
  readonly entries: number;
  readonly ms: number;
}

export interface DashboardInputs {
  readonly monitor: Monitor;
  readonly memberId: string;
  readonly series: {
    points(): readonly SeriesPoint[];
    onPoint(listener: (point: SeriesPoint) => void): () => void;
  };
  /** The latest lag per backup member id. */
  readonly lag: () => ReadonlyMap<string, MemberLag>;
}

const windows = Object.keys(availabilityWindowsMs) as AvailabilityWindow[];
/** Changes within this are one snapshot: the dashboard pushes at most twice a second anyway. */
export const snapshotCoalesceMs = 500;

export function dashboardSource(inputs: DashboardInputs): DashboardSource {
  const { monitor } = inputs;
  return {
    snapshot(): DashboardSnapshot {
      const view = monitor.view();
      const lag = inputs.lag();
      const availability: DashboardAvailability[] = monitor.availability.tracked().flatMap((subject) =>
        windows.map((window) => {
          const figures = monitor.availability.figures(subject, window, view.atUnixMs);
          const open = figures.outages.at(-1);
          return {
            kind: subject.kind,
            id: subject.id,
            window,
            failures: figures.failures,
            mtbfMs: figures.mtbfMs,
            mttrMs: figures.mttrMs,
            availability: figures.availability,
            nines: figures.nines,
            downSinceUnixMs: open && open.endUnixMs === null ? open.startUnixMs : null,
          };
        }),
      );
      return {
        monitorId: inputs.memberId,
        atUnixMs: view.atUnixMs,
        leaderId: view.leaderId === '' ? null : view.leaderId,
        topologyRevision: String(view.topologyRevision),
        members: view.members.map((member) => ({
          id: member.id,
          role: member.role,
          address: member.address,
          groupId: member.groupId === '' ? null : member.groupId,
          state: member.state satisfies HealthState,
          phi: Number.isFinite(member.phi) ? member.phi : Number.MAX_VALUE,
          lastHeartbeatUnixMs: member.lastHeartbeatUnixMs,
        })),
        groups: view.groups.map((group) => {
          const backups = group.members.filter((id) => id !== group.primary);
          const lagged = backups.filter((id) => lag.has(id));
          return {
            id: group.id,
            epoch: String(group.epoch),
            primaryId: group.primary === '' ? null : group.primary,
            members: [...group.members],
            inSync: [...group.inSync],
            mode: group.mode === coordinatorV1.ReplicationMode.REPLICATION_MODE_ASYNC ? 'async' : 'sync',
            lagEntries: Object.fromEntries(lagged.map((id) => [id, lag.get(id)?.entries ?? 0])),
            lagMs: Object.fromEntries(lagged.map((id) => [id, lag.get(id)?.ms ?? 0])),
          };
        }),
        availability,
        canaries: view.canaries.map((canary) => ({
          id: canary.canaryId,
          kind: canary.kind,
          target: canary.targetId,
          groupId: canary.groupId,
          ok: canary.ok,
          latencyMs: canary.latencyMs,
          successRate: canary.runs === 0 ? 1 : (canary.runs - canary.failures) / canary.runs,
          lastError: canary.error,
        })),
        failovers: view.failovers.map((failover) => ({
          groupId: failover.groupId,
          epoch: String(failover.epoch),
          fromPrimary: failover.fromPrimary === '' ? null : failover.fromPrimary,
          toPrimary: failover.toPrimary,
          detectedUnixMs: failover.detectedUnixMs,
          completedUnixMs: failover.completedUnixMs,
          durationMs: failover.durationMs,
        })),
        series: [...inputs.series.points()],
      };
    },
    subscribe(listener) {
      // The page is pushed at most twice a second: build a snapshot (figures of every subject) no more often.
      let timer: NodeJS.Timeout | undefined;
      const push = () => {
        timer ??= setTimeout(() => {
          timer = undefined;
          listener(this.snapshot());
        }, snapshotCoalesceMs);
      };
      const fromMonitor = monitor.onChange(push);
      const fromSeries = inputs.series.onPoint(push);
      return () => {
        clearTimeout(timer);
        fromMonitor();
        fromSeries();
      };
    },
  };
}

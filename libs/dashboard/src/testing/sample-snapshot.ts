// A plausible fleet as the monitor would see it, for tests and for looking at
// the page without a fleet: 3 coordinators (c2 leads), two replica groups of
// three (group-b failed over from r4 to r5, r4 is DOWN, r6 SUSPECT and out of
// sync), a router, a lock service, the monitor, two canaries (one failing)
// and ten minutes of series. Deterministic, so screenshots compare.
import type {
  DashboardAvailability,
  DashboardMember,
  DashboardSeriesPoint,
  DashboardSnapshot,
} from '../lib/dashboard-snapshot';

const seriesStepMs = 2_000;
const seriesPoints = 300;

function member(
  id: string,
  role: DashboardMember['role'],
  address: string,
  state: DashboardMember['state'],
  atUnixMs: number,
  groupId: string | null = null,
): DashboardMember {
  const silentMs = state === 'DOWN' ? 95_000 : state === 'SUSPECT' ? 4_200 : 400;
  const phi = state === 'DOWN' ? 38.6 : state === 'SUSPECT' ? 5.4 : 0.3;
  return { id, role, address, groupId, state, phi, lastHeartbeatUnixMs: atUnixMs - silentMs };
}

function availability(
  kind: DashboardAvailability['kind'],
  id: string,
  downSinceUnixMs: number | null,
): DashboardAvailability[] {
  const failing = downSinceUnixMs !== null;
  return [
    {
      kind,
      id,
      window: 'hour',
      failures: failing ? 1 : 0,
      mtbfMs: failing ? 3_500_000 : null,
      // No repair within the hour: the one outage is still going on, the rest had none.
      mttrMs: null,
      availability: failing ? 0.9736 : 1,
      nines: failing ? 1.58 : 6,
      downSinceUnixMs,
    },
    {
      kind,
      id,
      window: 'day',
      failures: failing ? 3 : 1,
      mtbfMs: failing ? 28_500_000 : 86_000_000,
      mttrMs: failing ? 41_000 : 12_000,
      availability: failing ? 0.99869 : 0.99986,
      nines: failing ? 2.88 : 3.85,
      downSinceUnixMs,
    },
  ];
}

function series(atUnixMs: number): DashboardSeriesPoint[] {
  return Array.from({ length: seriesPoints }, (_, index) => {
    const wave = Math.sin(index / 17);
    // The failover, 40 points (80 s) before the end: lag spikes, throughput dips.
    const sinceFailover = index - (seriesPoints - 40);
    const failoverDip = sinceFailover >= 0 && sinceFailover < 4;
    return {
      atUnixMs: atUnixMs - (seriesPoints - 1 - index) * seriesStepMs,
      kvRequestsPerSec: failoverDip ? 120 : Math.round(1_800 + 400 * wave),
      kvLatencyP50Ms: failoverDip ? null : 1.2 + 0.3 * wave,
      kvLatencyP99Ms: failoverDip ? null : 7.5 + 3 * Math.abs(wave),
      lockRequestsPerSec: Math.round(220 + 60 * Math.cos(index / 11)),
      replicationLagMsMax: failoverDip ? 900 : Math.round(12 + 8 * Math.abs(wave)),
      replicationLagEntriesMax: failoverDip ? 250 : Math.round(3 + 2 * Math.abs(wave)),
    };
  });
}

export function sampleDashboardSnapshot(atUnixMs = Date.UTC(2025, 0, 15, 12, 0, 0)): DashboardSnapshot {
  const r4DownSinceMs = atUnixMs - 95_000;
  return {
    monitorId: 'monitor-1',
    atUnixMs,
    leaderId: 'c2',
    topologyRevision: '42',
    members: [
      member('c1', 'coordinator', '10.0.0.11:7000', 'UP', atUnixMs),
      member('c2', 'coordinator', '10.0.0.12:7000', 'UP', atUnixMs),
      member('c3', 'coordinator', '10.0.0.13:7000', 'UP', atUnixMs),
      member('r1', 'replica', '10.0.1.11:7100', 'UP', atUnixMs, 'group-a'),
      member('r2', 'replica', '10.0.1.12:7100', 'UP', atUnixMs, 'group-a'),
      member('r3', 'replica', '10.0.1.13:7100', 'UP', atUnixMs, 'group-a'),
      member('r4', 'replica', '10.0.2.11:7100', 'DOWN', atUnixMs, 'group-b'),
      member('r5', 'replica', '10.0.2.12:7100', 'UP', atUnixMs, 'group-b'),
      member('r6', 'replica', '10.0.2.13:7100', 'SUSPECT', atUnixMs, 'group-b'),
      member('router-1', 'router', '10.0.3.11:7200', 'UP', atUnixMs),
      member('lock-1', 'lock', '10.0.4.11:7300', 'UP', atUnixMs),
      member('monitor-1', 'monitor', '10.0.5.11:7400', 'UP', atUnixMs),
    ],
    groups: [
      {
        id: 'group-a',
        epoch: '3',
        primaryId: 'r1',
        members: ['r1', 'r2', 'r3'],
        inSync: ['r1', 'r2', 'r3'],
        mode: 'sync',
        lagEntries: { r2: 0, r3: 2 },
        lagMs: { r2: 4, r3: 11 },
      },
      {
        id: 'group-b',
        epoch: '7',
        primaryId: 'r5',
        members: ['r4', 'r5', 'r6'],
        inSync: ['r5'],
        mode: 'async',
        lagEntries: { r4: 1_204, r6: 37 },
        lagMs: { r4: 95_000, r6: 2_300 },
      },
    ],
    availability: [
      ...availability('member', 'r1', null),
      ...availability('member', 'r4', r4DownSinceMs),
      ...availability('group', 'group-a', null),
      ...availability('group', 'group-b', null),
      ...availability('canary', 'kv-group-b', atUnixMs - 6_000),
    ],
    canaries: [
      {
        id: 'kv-group-a',
        kind: 'kv',
        target: 'router-1',
        groupId: 'group-a',
        ok: true,
        latencyMs: 3.1,
        successRate: 1,
        lastError: null,
      },
      {
        id: 'kv-group-b',
        kind: 'kv',
        target: 'router-1',
        groupId: 'group-b',
        ok: false,
        latencyMs: null,
        successRate: 0.982,
        lastError: 'DEADLINE_EXCEEDED: put took longer than 1000 ms',
      },
      {
        id: 'lock-1',
        kind: 'lock',
        target: 'lock-1',
        groupId: null,
        ok: true,
        latencyMs: 5.8,
        successRate: 1,
        lastError: null,
      },
    ],
    failovers: [
      {
        groupId: 'group-b',
        epoch: '7',
        fromPrimary: 'r4',
        toPrimary: 'r5',
        detectedUnixMs: atUnixMs - 84_000,
        completedUnixMs: atUnixMs - 80_000,
        durationMs: 4_000,
      },
      {
        groupId: 'group-a',
        epoch: '3',
        fromPrimary: 'r2',
        toPrimary: 'r1',
        detectedUnixMs: null,
        completedUnixMs: atUnixMs - 3_600_000,
        durationMs: null,
      },
    ],
    series: series(atUnixMs),
  };
}

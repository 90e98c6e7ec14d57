// What the dashboard shows: one snapshot of the fleet as the monitor sees it,
// sent whole to the page on every update (the page keeps no state of its own
// beyond the last snapshot, so a reconnect or a missed update heals at once).

export type HealthState = 'UP' | 'SUSPECT' | 'DOWN' | 'UNKNOWN';

export type MemberRole = 'coordinator' | 'replica' | 'router' | 'lock' | 'monitor';

export interface DashboardSnapshot {
  monitorId: string;
  atUnixMs: number;
  /** The coordinator leader as last learnt; null when none is known. */
  leaderId: string | null;
  /** Decimal: the topology revision is 64-bit. */
  topologyRevision: string;
  members: DashboardMember[];
  groups: DashboardGroup[];
  availability: DashboardAvailability[];
  canaries: DashboardCanary[];
  /** Most recent first, at most 20. */
  failovers: DashboardFailover[];
  /** Oldest first, e.g. one point per 2 s over the last 10 minutes. */
  series: DashboardSeriesPoint[];
}

export interface DashboardMember {
  id: string;
  role: MemberRole;
  address: string;
  groupId: string | null;
  state: HealthState;
  phi: number;
  lastHeartbeatUnixMs: number | null;
}

export interface DashboardGroup {
  id: string;
  /** Decimal: epochs are 64-bit. */
  epoch: string;
  primaryId: string | null;
  members: string[];
  inSync: string[];
  mode: 'sync' | 'async';
  /** Per backup id: entries behind the primary. */
  lagEntries: Record<string, number>;
  /** Per backup id: milliseconds behind the primary. */
  lagMs: Record<string, number>;
}

export interface DashboardAvailability {
  kind: 'member' | 'group' | 'canary';
  id: string;
  window: 'hour' | 'day';
  failures: number;
  mtbfMs: number | null;
  mttrMs: number | null;
  /** A fraction, 0 to 1. */
  availability: number;
  nines: number;
  downSinceUnixMs: number | null;
}

export interface DashboardCanary {
  id: string;
  kind: 'kv' | 'lock';
  target: string;
  groupId: string | null;
  ok: boolean;
  latencyMs: number | null;
  /** A fraction, 0 to 1. */
  successRate: number;
  lastError: string | null;
}

export interface DashboardFailover {
  groupId: string;
  /** Decimal: the epoch the new primary serves. */
  epoch: string;
  fromPrimary: string | null;
  toPrimary: string;
  detectedUnixMs: number | null;
  completedUnixMs: number;
  durationMs: number | null;
}

export interface DashboardSeriesPoint {
  atUnixMs: number;
  kvRequestsPerSec: number;
  kvLatencyP50Ms: number | null;
  kvLatencyP99Ms: number | null;
  lockRequestsPerSec: number;
  replicationLagMsMax: number | null;
  replicationLagEntriesMax: number | null;
}

/** Where the dashboard server gets its snapshots: the monitor implements it. */
export interface DashboardSource {
  snapshot(): DashboardSnapshot;
  /** Calls listener with each new snapshot; returns the unsubscribe function. */
  subscribe(listener: (snapshot: DashboardSnapshot) => void): () => void;
}

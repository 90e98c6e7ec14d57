// The Prometheus families each kind of Bulwark service must serve, and the
// checks a fleet spec runs on every service's scrape: the text parses, the
// process and gRPC families are there with real calls counted, and each
// kind carries its own families and no other kind's.
import { familyOf, samplesOf, valueOf, type Scrape } from '@bulwark/metrics/testing';

export type ServiceKind = 'coordinator' | 'replica' | 'router' | 'lock' | 'monitor';

/** Each compose service, its kind and the host port its metrics are published at (docker-compose.yml). */
export const metricsPublished: ReadonlyArray<{ name: string; kind: ServiceKind; port: number }> = [
  ...[1, 2, 3].map((index) => ({ name: `coordinator-${index}`, kind: 'coordinator' as const, port: 9100 + index })),
  ...['a', 'b', 'c'].flatMap((group, groupIndex) =>
    [1, 2, 3].map((index) => ({
      name: `replica-${group}${index}`,
      kind: 'replica' as const,
      port: 9110 + groupIndex * 3 + index,
    })),
  ),
  { name: 'router-1', kind: 'router', port: 9121 },
  { name: 'router-2', kind: 'router', port: 9122 },
  { name: 'lock-1', kind: 'lock', port: 9131 },
  { name: 'lock-2', kind: 'lock', port: 9132 },
  { name: 'monitor-1', kind: 'monitor', port: 9141 },
  { name: 'monitor-2', kind: 'monitor', port: 9142 },
];

type FamilyType = 'COUNTER' | 'GAUGE' | 'HISTOGRAM';

/** The domain families of each kind, with their type. */
export const familiesOfKind: Record<ServiceKind, Record<string, FamilyType>> = {
  coordinator: {
    bulwark_paxos_is_leader: 'GAUGE',
    bulwark_paxos_ballot_round: 'GAUGE',
    bulwark_paxos_committed_slots_total: 'COUNTER',
    bulwark_paxos_applied_slot: 'GAUGE',
  },
  replica: {
    bulwark_replication_lag_entries: 'GAUGE',
    bulwark_replication_lag_seconds: 'GAUGE',
    bulwark_replication_in_sync_members: 'GAUGE',
    bulwark_wal_fsync_seconds: 'HISTOGRAM',
    bulwark_wal_group_commit_entries: 'HISTOGRAM',
    bulwark_replica_epoch: 'GAUGE',
    bulwark_replica_is_primary: 'GAUGE',
  },
  router: { bulwark_router_retries_total: 'COUNTER' },
  lock: {
    bulwark_lock_grants_total: 'COUNTER',
    bulwark_lock_wait_seconds: 'HISTOGRAM',
    bulwark_lock_waiters: 'GAUGE',
    bulwark_lock_queue_length_max: 'GAUGE',
  },
  monitor: {
    bulwark_monitor_member_phi: 'GAUGE',
    bulwark_monitor_member_state: 'GAUGE',
    bulwark_monitor_group_available: 'GAUGE',
    bulwark_monitor_canary_runs_total: 'COUNTER',
    bulwark_monitor_canary_seconds: 'HISTOGRAM',
  },
};

const commonFamilies: Record<string, FamilyType> = {
  process_cpu_user_seconds_total: 'COUNTER',
  process_resident_memory_bytes: 'GAUGE',
  nodejs_eventloop_lag_seconds: 'GAUGE',
  grpc_server_started_total: 'COUNTER',
  grpc_server_handled_total: 'COUNTER',
  grpc_server_handling_seconds: 'HISTOGRAM',
};

/**
 * What every service's scrape must show: the common families, the health
 * checks the launcher's probes made counted OK, its kind's families, and
 * no other kind's.
 */
export function expectServiceMetrics(name: string, kind: ServiceKind, scrape: Scrape): void {
  const typeOf = (family: string) => [name, family, familyOf(scrape, family).type];
  for (const [family, type] of Object.entries({ ...commonFamilies, ...familiesOfKind[kind] })) {
    expect(typeOf(family)).toEqual([name, family, type]);
  }
  const healthChecks = valueOf(scrape, 'grpc_server_handled_total', {
    grpc_type: 'unary',
    grpc_service: 'grpc.health.v1.Health',
    grpc_method: 'Check',
    grpc_code: 'OK',
  });
  expect([name, healthChecks > 0]).toEqual([name, true]);
  for (const [other, families] of Object.entries(familiesOfKind)) {
    if (other === kind) continue;
    for (const family of Object.keys(families)) {
      expect([name, family, scrape.families.some((candidate) => candidate.name === family)]).toEqual([
        name,
        family,
        false,
      ]);
    }
  }
}

/** The sum over scrapes of a family's samples with these labels. */
export function sumOf(scrapes: readonly Scrape[], name: string, labels: Record<string, string> = {}): number {
  return scrapes
    .flatMap((scrape) => samplesOf(scrape, name, labels))
    .reduce((sum, sample) => sum + Number(sample.value), 0);
}

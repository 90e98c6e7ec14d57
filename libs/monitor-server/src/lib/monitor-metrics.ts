// What a monitor shows Prometheus: each watched member's suspicion level and
// state (read from the monitor at each scrape), and its canaries' runs and
// latency, so alerts can be written on what the monitor sees.
import { counter, histogram, scrapedGauge } from '@bulwark/metrics';
import type { CanaryRun } from './canaries';
import type { Monitor } from './monitor';

const memberStates = ['UP', 'SUSPECT', 'DOWN'] as const;

const memberPhi = scrapedGauge<'member' | 'role'>({
  name: 'bulwark_monitor_member_phi',
  help: 'Phi-accrual suspicion level of each watched member (3: SUSPECT, 8: DOWN by default).',
  labelNames: ['member', 'role'],
});
const memberState = scrapedGauge<'member' | 'role' | 'state'>({
  name: 'bulwark_monitor_member_state',
  help: 'Each watched member has 1 on its current state (UP, SUSPECT, DOWN) and 0 on the others.',
  labelNames: ['member', 'role', 'state'],
});
const groupAvailable = scrapedGauge<'group'>({
  name: 'bulwark_monitor_group_available',
  help: 'Whether each replica group has a primary the monitor does not see DOWN (1) or not (0).',
  labelNames: ['group'],
});
const canaryRuns = counter<'canary' | 'outcome'>({
  name: 'bulwark_monitor_canary_runs_total',
  help: 'Canary runs through routers (kv/<router>/<group>) and lock services (lock/<lock>), by outcome (ok, failed).',
  labelNames: ['canary', 'outcome'],
});
const canarySeconds = histogram<'kind'>({
  name: 'bulwark_monitor_canary_seconds',
  help: 'How long a successful canary run took: Put then STRONG Get (kv), TryAcquire then Release (lock).',
  labelNames: ['kind'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
});

for (const kind of ['kv', 'lock']) canarySeconds.zero({ kind });

/** Counts a canary run. */
export function countCanaryRun(run: CanaryRun): void {
  canaryRuns.inc({ canary: run.canaryId, outcome: run.ok ? 'ok' : 'failed' });
  if (run.ok) canarySeconds.observe({ kind: run.kind }, run.latencyMs / 1_000);
}

/** Reads the monitor at each scrape until the returned function is called. */
export function readMonitorMetrics(monitor: Monitor): () => void {
  const stops = [
    memberPhi.readFrom((sample) => {
      for (const member of monitor.view().members) sample(member.phi, { member: member.id, role: member.role });
    }),
    memberState.readFrom((sample) => {
      for (const member of monitor.view().members) {
        for (const state of memberStates) {
          sample(member.state === state ? 1 : 0, { member: member.id, role: member.role, state });
        }
      }
    }),
    groupAvailable.readFrom((sample) => {
      for (const group of monitor.view().groups) sample(group.available ? 1 : 0, { group: group.id });
    }),
  ];
  return () => stops.forEach((stop) => stop());
}

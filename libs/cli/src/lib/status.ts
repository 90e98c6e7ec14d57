// What `bulwark status` shows, gathered at once from where each part lives:
// the leader and topology from the coordinators (required), each
// coordinator's own view of the leader, health from the monitor's
// GetStatus, and lag from each group's primary (replication.v1 GetStatus).
// A monitor or primary that does not answer leaves its columns unknown
// (and says why); the rest is still shown.
import { coordinatorV1, monitorV1, replicationV1 } from '@bulwark/contracts';
import type { CoordinatorCaller } from '@bulwark/coordinator-client';
import { callUnary, createClient } from '@bulwark/rpc';
import { describeError } from './exit-codes';
import { formatFields, formatTable } from './output';
import { groupJson, memberJson, modeName, ringJson, ringText, roleName } from './topology-output';

export interface CoordinatorView {
  readonly address: string;
  /** The coordinator's member id, from its answer's header; empty when it did not answer. */
  readonly memberId: string;
  /** The leader it names; empty during an election or when it did not answer. */
  readonly leaderId: string;
  readonly error?: string;
}

export type Lag =
  | { readonly role: 'primary' }
  | { readonly role: 'backup'; readonly inSync: boolean; readonly lagEntries: bigint; readonly lagMs: bigint };

export interface StatusReport {
  readonly leader: { readonly id: string; readonly address: string };
  readonly topology: coordinatorV1.Topology;
  readonly coordinators: readonly CoordinatorView[];
  readonly monitor: {
    readonly address: string;
    /** The monitor that answered; it does not watch itself. */
    readonly memberId?: string;
    readonly status?: monitorV1.Status;
    readonly error?: string;
  };
  /** By member id; a member of a group whose primary did not answer is absent. */
  readonly lag: ReadonlyMap<string, Lag>;
  /** Why a group's lag is unknown, by group id. */
  readonly lagErrors: ReadonlyMap<string, string>;
}

export interface StatusSources {
  readonly caller: CoordinatorCaller;
  readonly coordinators: readonly string[];
  readonly monitor: string;
  readonly timeoutMs: number;
}

export async function gatherStatus(sources: StatusSources): Promise<StatusReport> {
  const settings = { deadlineMs: sources.timeoutMs };
  const [topologyAnswer, coordinators, monitor] = await Promise.all([
    sources.caller.call('getTopology', {}, settings),
    Promise.all(sources.coordinators.map((address) => coordinatorView(address, sources.timeoutMs))),
    monitorStatus(sources.monitor, sources.timeoutMs),
  ]);
  const topology = topologyAnswer.topology ?? { revision: 0n, members: [], groups: [], ring: undefined };
  const addresses = new Map(topology.members.map((member) => [member.id, member.address]));
  const lag = new Map<string, Lag>();
  const lagErrors = new Map<string, string>();
  await Promise.all(
    topology.groups.map(async (group) => {
      const address = addresses.get(group.primary);
      if (!address) return lagErrors.set(group.id, group.primary ? `no address for ${group.primary}` : 'no primary');
      try {
        const answer = await replicationStatus(address, group.id, sources.timeoutMs);
        lag.set(group.primary, { role: 'primary' });
        for (const backup of answer.backups) {
          const { inSync, lagEntries, lagMs } = backup;
          lag.set(backup.memberId, { role: 'backup', inSync, lagEntries, lagMs });
        }
      } catch (error) {
        lagErrors.set(group.id, describeError(error));
      }
    }),
  );
  return {
    leader: { id: topologyAnswer.header?.memberId ?? '', address: sources.caller.leader ?? '' },
    topology,
    coordinators,
    monitor,
    lag,
    lagErrors,
  };
}

async function coordinatorView(address: string, timeoutMs: number): Promise<CoordinatorView> {
  const client = createClient(coordinatorV1.CoordinatorClient, address);
  try {
    const answer = await callUnary(client, client.getLeader, {}, { deadlineMs: timeoutMs });
    return { address, memberId: answer.header?.memberId ?? '', leaderId: answer.leaderId };
  } catch (error) {
    return { address, memberId: '', leaderId: '', error: describeError(error) };
  } finally {
    client.close();
  }
}

async function monitorStatus(address: string, timeoutMs: number): Promise<StatusReport['monitor']> {
  const client = createClient(monitorV1.MonitorClient, address);
  try {
    const answer = await callUnary(client, client.getStatus, {}, { deadlineMs: timeoutMs });
    const memberId = answer.header?.memberId ?? '';
    return answer.status ? { address, memberId, status: answer.status } : { address, error: 'answered no status' };
  } catch (error) {
    return { address, error: describeError(error) };
  } finally {
    client.close();
  }
}

async function replicationStatus(
  address: string,
  groupId: string,
  timeoutMs: number,
): Promise<replicationV1.GetStatusResponse> {
  const client = createClient(replicationV1.ReplicationClient, address);
  try {
    return await callUnary(client, client.getStatus, { groupId, includeStateDigest: false }, { deadlineMs: timeoutMs });
  } finally {
    client.close();
  }
}

const stateNames: Readonly<Record<number, string>> = {
  [monitorV1.MemberState.MEMBER_STATE_UP]: 'UP',
  [monitorV1.MemberState.MEMBER_STATE_SUSPECT]: 'SUSPECT',
  [monitorV1.MemberState.MEMBER_STATE_DOWN]: 'DOWN',
};

/**
 * What the monitor says of a member: UP, SUSPECT or DOWN, with its phi;
 * undefined when unknown. The monitor that answered is UP: it just did.
 */
function healthOf(report: StatusReport, memberId: string): { state: string; phi?: number } | undefined {
  if (report.monitor.status && memberId === report.monitor.memberId) return { state: 'UP' };
  const member = report.monitor.status?.members.find((candidate) => candidate.memberId === memberId);
  return member && { state: stateNames[member.state] ?? 'UNKNOWN', phi: member.phi };
}

function healthText(report: StatusReport, memberId: string): string {
  const health = healthOf(report, memberId);
  if (!health) return '?';
  return health.state === 'SUSPECT' ? `SUSPECT (phi ${health.phi?.toFixed(1)})` : health.state;
}

function lagText(lag: Lag | undefined): string {
  if (!lag) return '?';
  if (lag.role === 'primary') return 'primary';
  return `${lag.lagEntries} entries, ${lag.lagMs} ms${lag.inSync ? '' : ', out of sync'}`;
}

function groupAvailable(report: StatusReport, groupId: string): string {
  const group = report.monitor.status?.groups.find((candidate) => candidate.groupId === groupId);
  return group ? (group.available ? 'yes' : 'no') : '?';
}

export function statusText(report: StatusReport): string {
  const { topology } = report;
  const summary = formatFields([
    ['leader', report.leader.id ? `${report.leader.id} (${report.leader.address})` : ''],
    ['revision', String(topology.revision)],
    ['ring', ringText(topology.ring)],
    [
      'monitor',
      report.monitor.error
        ? `${report.monitor.address} unreachable (${report.monitor.error}); health not shown`
        : report.monitor.address,
    ],
    ...[...report.lagErrors].map(([groupId, error]): [string, string] => [`lag of ${groupId}`, `unknown (${error})`]),
  ]);
  const coordinators = formatTable(
    ['COORDINATOR', 'ADDRESS', 'LEADER', 'HEALTH'],
    report.coordinators.map((view) => [
      view.memberId || '?',
      view.address,
      view.error ? `unreachable: ${view.error}` : view.leaderId,
      view.memberId ? healthText(report, view.memberId) : '?',
    ]),
  );
  const groups = formatTable(
    ['GROUP', 'EPOCH', 'MODE', 'PRIMARY', 'IN-SYNC', 'MEMBERS', 'LEASE', 'AVAILABLE'],
    topology.groups.map((group) => [
      group.id,
      String(group.epoch),
      modeName(group.mode),
      group.handoverTarget ? `${group.primary} -> ${group.handoverTarget}` : group.primary,
      group.inSync.join(','),
      group.members.join(','),
      group.primaryLeaseMs ? `${group.primaryLeaseMs} ms` : '',
      groupAvailable(report, group.id),
    ]),
  );
  const members = formatTable(
    ['MEMBER', 'ROLE', 'GROUP', 'ADDRESS', 'HEALTH', 'LAG'],
    [...topology.members]
      .sort((a, b) => a.role - b.role || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((member) => [
        member.id,
        roleName(member.role),
        member.groupId,
        member.address,
        healthText(report, member.id),
        member.role === coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA ? lagText(report.lag.get(member.id)) : '',
      ]),
  );
  return [summary, coordinators, groups, members].join('\n');
}

export function statusJson(report: StatusReport): Record<string, unknown> {
  const { topology } = report;
  const healthJson = (memberId: string) => (report.monitor.status ? (healthOf(report, memberId) ?? null) : null);
  return {
    leader: report.leader,
    revision: topology.revision,
    ring: ringJson(topology.ring),
    monitor: {
      address: report.monitor.address,
      reachable: report.monitor.error === undefined,
      ...(report.monitor.error ? { error: report.monitor.error } : {}),
    },
    coordinators: report.coordinators.map((view) => ({
      ...view,
      health: view.memberId ? healthJson(view.memberId) : null,
    })),
    groups: topology.groups.map((group) => {
      const available = report.monitor.status?.groups.find((candidate) => candidate.groupId === group.id)?.available;
      const lagError = report.lagErrors.get(group.id);
      return {
        ...groupJson(group),
        available: available ?? null,
        ...(lagError ? { lagError } : {}),
      };
    }),
    members: topology.members.map((member) => ({
      ...memberJson(member),
      health: healthJson(member.id),
      ...(member.role === coordinatorV1.MemberRole.MEMBER_ROLE_REPLICA
        ? { replication: report.lag.get(member.id) ?? null }
        : {}),
    })),
  };
}

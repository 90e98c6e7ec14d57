// Runs random steps (step-arbitraries.ts) from the empty topology, resolving
// each against the topology reached so far. The resolved commands are
// returned, so a second run can apply the very same commands and compare.
import type { Applied, MetadataCommand } from '../lib/commands';
import { apply } from '../lib/apply';
import { emptyTopology, findGroup } from '../lib/topology';
import type { Topology } from '../lib/types';
import {
  groupIds,
  homeGroupOf,
  invalidId,
  replicaIds,
  type EpochChoice,
  type LeaseRevisionChoice,
  type MemberChoice,
  type Step,
  type Template,
} from './step-arbitraries';

export interface Run {
  /** The resolved commands, in order. */
  readonly commands: MetadataCommand[];
  /** states[0] is the start; states[i + 1] is the topology after commands[i]. */
  readonly states: Topology[];
  readonly applied: Applied[];
}

/**
 * Every replica registered with its home group, a router, and groups g1 and
 * g2: without them most group commands of a short run would only test "not
 * found". g3 is left for the steps to create (and g1, g2 to delete and
 * create again).
 */
const prologue: Template[] = [
  ...[...replicaIds, 'router-1'].map((id): Template => ({
    type: 'registerMember',
    id,
    role: id === 'router-1' ? 'router' : 'replica',
    declared: 'home',
    address: 'own',
  })),
  { type: 'createGroup', groupId: 'g1', members: 'home', mode: 'sync' },
  { type: 'createGroup', groupId: 'g2', members: 'home', mode: 'async' },
];

/** Applies the prologue and then the steps, from the empty topology. */
export function runSteps(steps: readonly Step[]): Run {
  const run: Run = { commands: [], states: [emptyTopology], applied: [] };
  let topology = emptyTopology;
  for (const template of [...prologue, ...steps.map((step) => step.template)]) {
    const command = resolve(template, topology);
    const applied = apply(topology, command);
    topology = applied.topology;
    run.commands.push(command);
    run.states.push(topology);
    run.applied.push(applied);
  }
  return run;
}

function resolve(template: Template, topology: Topology): MetadataCommand {
  switch (template.type) {
    case 'registerMember':
      return { type: 'registerMember', member: resolveMember(template, topology) };
    case 'createGroup':
      return {
        type: 'createGroup',
        groupId: template.groupId,
        members: resolveGroupMembers(template.groupId, template.members),
        mode: template.mode,
      };
    case 'deleteGroup':
    case 'deregisterMember':
      return template;
    case 'setRing':
      return {
        type: 'setRing',
        expectedVersion: topology.ring.version + (template.version === 'wrong' ? 1n : 0n),
        virtualNodesPerWeight: template.virtualNodesPerWeight,
        groups: template.groups,
      };
    case 'failover':
      return {
        type: 'failover',
        groupId: template.groupId,
        expectedEpoch: resolveEpoch(template.epoch, topology, template.groupId),
        newPrimary: resolveMemberChoice(template.target, topology, template.groupId),
        expectedPrimaryLeaseRevision: resolveLeaseRevision(template.leaseRevision, topology, template.groupId),
      };
    case 'startHandover':
      return {
        type: 'startHandover',
        groupId: template.groupId,
        expectedEpoch: resolveEpoch(template.epoch, topology, template.groupId),
        target: resolveMemberChoice(template.target, topology, template.groupId),
      };
    case 'renewPrimaryLease':
      return {
        type: 'renewPrimaryLease',
        groupId: template.groupId,
        memberId: resolveMemberChoice(template.member, topology, template.groupId),
        epoch: resolveEpoch(template.epoch, topology, template.groupId),
        leaseMs: template.leaseMs,
      };
    case 'updateInSyncSet': {
      const members = findGroup(topology, template.groupId)?.members ?? [];
      const primaryId = resolveMemberChoice(template.primary, topology, template.groupId);
      const kept = members.filter((memberId, index) => memberId === primaryId || template.keep[index] === true);
      const outsider = replicaIds.find((id) => !members.includes(id)) as string;
      const inSync = template.addOutsider ? [...kept, outsider] : kept;
      return {
        type: 'updateInSyncSet',
        groupId: template.groupId,
        epoch: resolveEpoch(template.epoch, topology, template.groupId),
        primaryId,
        inSync,
      };
    }
    case 'noop':
      return template;
  }
}

function resolveMember(template: Extract<Template, { type: 'registerMember' }>, topology: Topology) {
  const { id, role } = template;
  const home = homeGroupOf[id] ?? '';
  const other = groupIds.find((candidate) => candidate !== home) as string;
  const groupId = { home: role === 'replica' ? home : '', none: '', other }[template.declared];
  // The next replica (r1 for the router): its own address, free while it has moved away.
  const neighbour = replicaIds[(replicaIds.indexOf(id) + 1) % replicaIds.length] as string;
  const holder = topology.members.find((member) => member.id !== id);
  const address = {
    own: `${id}:7100`,
    moved: `${id}-moved:7100`,
    taken: holder?.address ?? `${id}:7100`,
    othersOwn: `${neighbour}:7100`,
    invalid: `${id}-without-port`,
  }[template.address];
  return { id, address, role, groupId, metricsAddress: '' };
}

function resolveGroupMembers(groupId: string, choice: Extract<Template, { type: 'createGroup' }>['members']) {
  const home = replicaIds.filter((id) => homeGroupOf[id] === groupId);
  const outsider = replicaIds.find((id) => homeGroupOf[id] !== groupId) as string;
  return {
    home,
    homeReversed: [...home].reverse(),
    homeSubset: home.slice(0, -1),
    withOutsider: [...home, outsider],
    none: [],
    duplicated: [...home, ...home.slice(0, 1)],
  }[choice];
}

function resolveEpoch(choice: EpochChoice, topology: Topology, groupId: string): bigint {
  const epoch = findGroup(topology, groupId)?.epoch ?? 1n;
  return { current: epoch, zero: 0n, stale: epoch - 1n, next: epoch + 1n }[choice];
}

/** The lease revision a leader saw: the current one, or one from before a later grant. */
function resolveLeaseRevision(choice: LeaseRevisionChoice, topology: Topology, groupId: string): bigint {
  const leaseRevision = findGroup(topology, groupId)?.primaryLeaseRevision ?? 1n;
  return choice === 'current' ? leaseRevision : leaseRevision - 1n;
}

function resolveMemberChoice(choice: MemberChoice, topology: Topology, groupId: string): string {
  const group = findGroup(topology, groupId);
  if (choice === 'invalid') return invalidId;
  if (!group) return 'r1';
  const backups = group.inSync.filter((id) => id !== group.primary);
  const lagging = group.members.filter((id) => !group.inSync.includes(id));
  const outsider = replicaIds.find((id) => !group.members.includes(id)) as string;
  const picks: Record<Exclude<MemberChoice, 'invalid'>, string | undefined> = {
    primary: group.primary,
    inSyncBackup: backups[0],
    laggingMember: lagging[0],
    outsider,
  };
  return picks[choice] ?? group.primary;
}

// status, failover, deregister and watch-topology: the coordinators' view of the
// cluster (through the coordinator client, which finds the leader and
// retries with one request id), with the monitor's health and the
// primaries' lag for status.
import type { Command } from 'commander';
import type { coordinatorV1 } from '@bulwark/contracts';
import { CoordinatorCaller } from '@bulwark/coordinator-client';
import { NotFoundError } from '@bulwark/errors';
import { parseUint64 } from './arguments';
import { parsed, print, type CommandContext, type Handle } from './command-context';
import { ExitCode } from './exit-codes';
import { jsonLine, jsonText } from './output';
import { gatherStatus, statusJson, statusText } from './status';
import {
  changedBeyondLease,
  groupJson,
  groupText,
  memberJson,
  ringJson,
  ringText,
  roleName,
  topologyJson,
} from './topology-output';
import { followTopology } from './topology-stream';

export function registerClusterCommands(program: Command, handle: Handle): void {
  program
    .command('status')
    .description(
      'show the coordinator leader, each group (epoch, primary, in-sync set, mode, lease) and each member (health, lag)',
    )
    .action(handle(status));
  program
    .command('failover')
    .description('move a group’s primary to the next epoch; answers once the new primary leads')
    .argument('<group>')
    .option('--to <member>', 'the new primary, a member of the in-sync set (default: the most up to date)')
    .option(
      '--expected-epoch <n>',
      'fail over only if the group is still at this epoch (default: the epoch it is at now)',
      parsed(parseUint64),
    )
    .action(handle(failover));
  program
    .command('deregister')
    .description(
      'remove a member that is gone for good from the topology (a replica its group lists leaves with its group)',
    )
    .argument('<member>')
    .action(handle(deregister));
  program
    .command('watch-topology')
    .description('print each topology change as it commits, until Ctrl-C')
    .option(
      '--from-revision <n>',
      'start at this revision (default: a snapshot of the current topology)',
      parsed(parseUint64),
    )
    .option('--all', 'also print lease renewals (each group’s primary renews about 5 times a second)')
    .action(handle(watchTopology));
}

async function withCoordinators<T>(
  context: CommandContext,
  use: (caller: CoordinatorCaller) => Promise<T>,
): Promise<T> {
  const caller = new CoordinatorCaller({ coordinators: context.settings.coordinators, logger: context.logger });
  try {
    return await use(caller);
  } finally {
    caller.close();
  }
}

async function status(context: CommandContext): Promise<ExitCode> {
  const { settings } = context;
  const report = await withCoordinators(context, (caller) =>
    gatherStatus({
      caller,
      coordinators: settings.coordinators,
      monitor: settings.monitor,
      timeoutMs: settings.timeoutMs,
    }),
  );
  print(
    context,
    () => jsonText(statusJson(report)),
    () => statusText(report),
  );
  return ExitCode.ok;
}

async function failover(
  context: CommandContext,
  groupId: string,
  flags: { to?: string; expectedEpoch?: bigint },
): Promise<ExitCode> {
  const deadline = { deadlineMs: context.settings.timeoutMs };
  const { before, after } = await withCoordinators(context, async (caller) => {
    let before: coordinatorV1.ReplicaGroup | undefined;
    if (flags.expectedEpoch === undefined) {
      const { topology } = await caller.call('getTopology', {}, deadline);
      before = topology?.groups.find((group) => group.id === groupId);
      if (!before) throw new NotFoundError('group', `no group ${JSON.stringify(groupId)}`);
    }
    const answer = await caller.call(
      'failover',
      {
        groupId,
        expectedEpoch: flags.expectedEpoch ?? before?.epoch ?? 0n,
        targetPrimary: flags.to ?? '',
        requestId: '',
      },
      deadline,
    );
    return { before, after: answer.group };
  });
  if (!after) throw new NotFoundError('group', `the coordinators answered without group ${JSON.stringify(groupId)}`);
  const was = before ? ` (was ${before.primary} at epoch ${before.epoch})` : '';
  print(
    context,
    () =>
      jsonText({
        group: groupJson(after),
        ...(before ? { previous: { epoch: before.epoch, primary: before.primary } } : {}),
      }),
    () => `${groupText(after)}${was}\n`,
  );
  return ExitCode.ok;
}

async function deregister(context: CommandContext, memberId: string): Promise<ExitCode> {
  const answer = await withCoordinators(context, (caller) =>
    caller.call('deregisterMember', { memberId, requestId: '' }, { deadlineMs: context.settings.timeoutMs }),
  );
  const revision = answer.header?.revision ?? 0n;
  print(
    context,
    () => jsonText({ memberId, revision }),
    () => `member ${memberId} deregistered at revision ${revision}\n`,
  );
  return ExitCode.ok;
}

async function watchTopology(
  context: CommandContext,
  flags: { fromRevision?: bigint; all?: boolean },
): Promise<ExitCode> {
  const stopped = new AbortController();
  const stopListening = context.io.onInterrupt(() => stopped.abort());
  const groups = new Map<string, coordinatorV1.ReplicaGroup>();
  const write = (revision: bigint, json: Record<string, unknown>, text: string) =>
    print(
      context,
      () => jsonLine({ revision, ...json }),
      () => `revision ${revision} ${text}\n`,
    );
  try {
    await followTopology({
      coordinators: context.settings.coordinators,
      startRevision: flags.fromRevision ?? 0n,
      signal: stopped.signal,
      onMessage: (message) => {
        const { snapshot } = message;
        if (snapshot) {
          groups.clear();
          for (const group of snapshot.groups) groups.set(group.id, group);
          write(
            snapshot.revision,
            { type: 'snapshot', topology: topologyJson(snapshot) },
            `snapshot: ${snapshot.members.length} members, ${snapshot.groups.length} groups, ring ${ringText(snapshot.ring)}`,
          );
          if (!context.settings.json)
            for (const group of snapshot.groups) write(snapshot.revision, {}, `group ${groupText(group)}`);
        }
        for (const event of message.events) {
          const change = event.change;
          if (change?.$case === 'memberRegistered') {
            const member = change.memberRegistered;
            write(
              event.revision,
              { type: 'member-registered', member: memberJson(member) },
              `member ${member.id} (${roleName(member.role)}) at ${member.address}`,
            );
          } else if (change?.$case === 'memberDeregistered') {
            write(
              event.revision,
              { type: 'member-deregistered', memberId: change.memberDeregistered },
              `member ${change.memberDeregistered} deregistered`,
            );
          } else if (change?.$case === 'groupUpdated') {
            const group = change.groupUpdated;
            const before = groups.get(group.id);
            groups.set(group.id, group);
            if (flags.all || !before || changedBeyondLease(before, group)) {
              write(event.revision, { type: 'group-updated', group: groupJson(group) }, `group ${groupText(group)}`);
            }
          } else if (change?.$case === 'groupDeleted') {
            groups.delete(change.groupDeleted);
            write(
              event.revision,
              { type: 'group-deleted', groupId: change.groupDeleted },
              `group deleted ${change.groupDeleted}`,
            );
          } else if (change?.$case === 'ringUpdated') {
            write(
              event.revision,
              { type: 'ring-updated', ring: ringJson(change.ringUpdated) },
              `ring ${ringText(change.ringUpdated)}`,
            );
          }
        }
      },
    });
  } finally {
    stopListening();
  }
  return ExitCode.ok;
}

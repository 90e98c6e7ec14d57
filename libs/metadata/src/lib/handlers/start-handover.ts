// StartHandover: a Failover asked for while the primary may still hold its
// lease. The old primary must not be deposed before its lease has surely
// ended, and a lease it keeps renewing never ends; so this marks the group
// (handoverTarget), renewals at this epoch are refused from then on, the
// lease runs out on the primary's own clock, and the leader's automatic
// failover then moves the group to the next epoch, which clears the mark.
// Like every command it holds no clock reading.
import { FailedPreconditionError } from '@bulwark/errors';
import type { CommandOutputs, StartHandoverCommand } from '../commands';
import { checkId, checkUint64 } from '../fields';
import type { StateView } from '../state-view';
import { frozenGroup } from '../topology';
import { requireGroup } from './group-checks';
import type { Outcome } from './outcome';

export function startHandover(
  state: StateView,
  command: StartHandoverCommand,
): Outcome<CommandOutputs['startHandover']> {
  const groupId = checkId(command.groupId, 'group_id');
  const expectedEpoch = checkUint64(command.expectedEpoch, 'expected_epoch');
  const target = checkId(command.target, 'target_primary');
  const group = requireGroup(state, groupId);
  if (expectedEpoch !== group.epoch) {
    throw new FailedPreconditionError(
      'expected_epoch',
      `is ${expectedEpoch}, but group '${groupId}' is at epoch ${group.epoch}`,
    );
  }
  if (group.handoverTarget === target) return { value: { group } };
  if (group.handoverTarget !== '') {
    throw new FailedPreconditionError(
      'target_primary',
      `group '${groupId}' is handing over to '${group.handoverTarget}' at epoch ${group.epoch} already`,
    );
  }
  if (target === group.primary) {
    throw new FailedPreconditionError(
      'target_primary',
      `'${target}' is the primary of group '${groupId}' already, and may still hold its lease`,
    );
  }
  if (!group.inSync.includes(target)) {
    const where = group.members.includes(target) ? 'the in-sync set' : 'the members';
    throw new FailedPreconditionError('target_primary', `'${target}' is not in ${where} of group '${groupId}'`);
  }
  const next = frozenGroup({ ...group, handoverTarget: target });
  return { value: { group: next }, changes: [{ type: 'groupUpdated', group: next }] };
}

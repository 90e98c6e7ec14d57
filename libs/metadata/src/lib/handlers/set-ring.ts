// SetRing: replaces the ring if it is still at the version the caller read
// (compare-and-set), with groups that exist and a ring every router can
// build: the partitioning lib's bounds on weights, virtual nodes and points.
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import {
  compareCodePoints,
  defaultVirtualNodesPerWeight,
  ringPointsMax,
  virtualNodesPerWeightMax,
  weightMax,
  weightMin,
} from '@bulwark/partitioning';
import type { CommandOutputs, SetRingCommand } from '../commands';
import { checkId, checkUint64 } from '../fields';
import { topologyGroupsMax } from '../limits';
import type { StateView } from '../state-view';
import { frozenRing } from '../topology';
import type { RingGroup } from '../types';
import type { Outcome } from './outcome';

export function setRing(state: StateView, command: SetRingCommand): Outcome<CommandOutputs['setRing']> {
  const expectedVersion = checkUint64(command.expectedVersion, 'expected_version');
  const virtualNodesPerWeight = checkVirtualNodesPerWeight(command.virtualNodesPerWeight);
  const groups = checkRingGroups(command.groups);
  const points = groups.reduce((sum, group) => sum + group.weight, 0) * virtualNodesPerWeight;
  if (points > ringPointsMax) {
    throw new InvalidArgumentError(
      'groups',
      `would put ${points} points on the ring, more than ringPointsMax ${ringPointsMax}; lower the weights or virtual_nodes_per_weight`,
    );
  }
  groups.forEach((group, index) => {
    if (!state.group(group.groupId)) {
      throw new NotFoundError(`groups[${index}].group_id`, `no group '${group.groupId}'`);
    }
  });
  if (expectedVersion !== state.ring.version) {
    throw new FailedPreconditionError(
      'expected_version',
      `is ${expectedVersion}, but the ring is at version ${state.ring.version}`,
    );
  }
  const ring = frozenRing({
    version: state.ring.version + 1n,
    virtualNodesPerWeight,
    groups: [...groups].sort((a, b) => compareCodePoints(a.groupId, b.groupId)),
  });
  return { value: { ring }, changes: [{ type: 'ringUpdated', ring }] };
}

/** 0 is the proto's "default"; the stored ring always says what it uses. */
function checkVirtualNodesPerWeight(value: unknown): number {
  if (value === 0) return defaultVirtualNodesPerWeight;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > virtualNodesPerWeightMax) {
    throw new InvalidArgumentError(
      'virtual_nodes_per_weight',
      `must be an integer from 1 to ${virtualNodesPerWeightMax}, or 0 for ${defaultVirtualNodesPerWeight}`,
    );
  }
  return value;
}

function checkRingGroups(groups: readonly RingGroup[]): readonly RingGroup[] {
  if (!Array.isArray(groups) || groups.length === 0 || groups.length > topologyGroupsMax) {
    throw new InvalidArgumentError('groups', `must list 1 to ${topologyGroupsMax} groups`);
  }
  const indexById = new Map<string, number>();
  groups.forEach((group: Partial<RingGroup> | null, index) => {
    const groupId = checkId(group?.groupId, `groups[${index}].group_id`);
    const earlier = indexById.get(groupId);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(
        `groups[${index}].group_id`,
        `duplicates groups[${earlier}].group_id '${groupId}'`,
      );
    }
    indexById.set(groupId, index);
    const weight = group?.weight;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < weightMin || weight > weightMax) {
      throw new InvalidArgumentError(`groups[${index}].weight`, `must be an integer from ${weightMin} to ${weightMax}`);
    }
  });
  return groups;
}

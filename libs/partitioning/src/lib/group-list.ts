import { InvalidArgumentError } from '@bulwark/errors';
import { compareCodePoints } from './code-point-order';
import type { GroupList, GroupSpec } from './partitioner';

/** Most groups one list may hold; also bounds the ring's owner index (see hash-ring.ts). */
export const groupsMax = 1024;
export const groupIdLengthMax = 128;
export const weightMin = 1;
export const weightMax = 1000;
const versionMax = (1n << 64n) - 1n;

/**
 * Checks a group list and returns its groups sorted by id in code point order,
 * so that every partitioner built from the same groups, in whatever order they
 * were listed, maps keys the same way. Throws InvalidArgumentError naming the
 * first field at fault.
 */
export function validGroupsInIdOrder(list: GroupList): GroupSpec[] {
  if (typeof list.version !== 'bigint' || list.version < 0n || list.version > versionMax) {
    throw new InvalidArgumentError('version', 'must be an unsigned 64-bit integer (bigint)');
  }
  if (list.groups.length === 0) {
    throw new InvalidArgumentError('groups', 'must list at least one group');
  }
  if (list.groups.length > groupsMax) {
    throw new InvalidArgumentError('groups', `lists ${list.groups.length} groups, more than groupsMax ${groupsMax}`);
  }
  const indexById = new Map<string, number>();
  list.groups.forEach((group, index) => {
    checkGroup(group, index);
    const earlier = indexById.get(group.id);
    if (earlier !== undefined) {
      throw new InvalidArgumentError(`groups[${index}].id`, `duplicates groups[${earlier}].id '${group.id}'`);
    }
    indexById.set(group.id, index);
  });
  return [...list.groups].sort((a, b) => compareCodePoints(a.id, b.id));
}

function checkGroup(group: GroupSpec, index: number): void {
  if (typeof group.id !== 'string' || group.id.length === 0 || group.id.length > groupIdLengthMax) {
    throw new InvalidArgumentError(`groups[${index}].id`, `must be a string of 1 to ${groupIdLengthMax} characters`);
  }
  if (!Number.isInteger(group.weight) || group.weight < weightMin || group.weight > weightMax) {
    throw new InvalidArgumentError(
      `groups[${index}].weight`,
      `must be an integer from ${weightMin} to ${weightMax}, got ${String(group.weight)}`,
    );
  }
}

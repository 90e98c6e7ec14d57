// The state machine's indexes must answer as the topology would after
// every kind of change, including the ones that free something: an address
// a member moved away from, the members of a deleted or re-created group.
import { FailedPreconditionError } from '@bulwark/errors';
import { groupFixture, replica } from '../testing';
import type { MetadataCommand } from './commands';
import { MetadataStateMachine } from './state-machine';
import { topologyEquals } from './topology-equals';

function expectApplied(machine: MetadataStateMachine, command: MetadataCommand): void {
  const { result } = machine.apply(command);
  if (!result.ok) throw new Error(`${command.type} was rejected: ${result.error.message}`);
}

describe('the indexed state', () => {
  it('frees the address a member moved away from, for another member to take', () => {
    const machine = new MetadataStateMachine();
    expectApplied(machine, { type: 'registerMember', member: replica('r1', '', 'host-a:1') });
    expectApplied(machine, { type: 'registerMember', member: replica('r1', '', 'host-b:1') });
    expectApplied(machine, { type: 'registerMember', member: replica('r2', '', 'host-a:1') });
    const taken = machine.apply({ type: 'registerMember', member: replica('r3', '', 'host-b:1') });
    expect(taken.result.ok === false && taken.result.error.details.field).toBe('member.address');
  });

  it('forgets the members of a deleted group, also when a group of that id is created again with fewer', () => {
    const machine = new MetadataStateMachine(groupFixture().topology);
    expectApplied(machine, { type: 'deleteGroup', groupId: 'g1' });
    expectApplied(machine, { type: 'createGroup', groupId: 'g1', members: ['r1', 'r2'], mode: 'sync' });
    // r3 is in no group now, so it may declare another.
    expectApplied(machine, { type: 'registerMember', member: replica('r3', 'g2') });
    // r2 is listed by the new g1, so it may not.
    const listed = machine.apply({ type: 'registerMember', member: replica('r2', 'g2') });
    expect(listed.result.ok === false && listed.result.error).toBeInstanceOf(FailedPreconditionError);
  });

  it('answers which groups are on the ring as the ring changes', () => {
    const machine = new MetadataStateMachine(groupFixture({ onRing: true }).topology);
    const onRing = machine.apply({ type: 'deleteGroup', groupId: 'g1' });
    expect(onRing.result.ok === false && onRing.result.error.details.field).toBe('group_id');
    expectApplied(machine, { type: 'registerMember', member: replica('r4', 'g2') });
    expectApplied(machine, { type: 'createGroup', groupId: 'g2', members: ['r4'], mode: 'sync' });
    expectApplied(machine, {
      type: 'setRing',
      expectedVersion: 1n,
      virtualNodesPerWeight: 0,
      groups: [{ groupId: 'g2', weight: 1 }],
    });
    expectApplied(machine, { type: 'deleteGroup', groupId: 'g1' });
  });

  it('builds the sorted topology only when read, keeps it until a change, and shares what a change left alone', () => {
    const { topology } = groupFixture();
    const machine = new MetadataStateMachine(topology);
    const before = machine.topology;
    expect(topologyEquals(before, topology)).toBe(true);
    expect(machine.topology).toBe(before);
    expect(machine.apply({ type: 'deleteGroup', groupId: 'g9' }).result.ok).toBe(false);
    expect(machine.topology).toBe(before);
    expectApplied(machine, { type: 'registerMember', member: replica('a0', '') });
    const after = machine.topology;
    expect(after).not.toBe(before);
    expect(after.groups).toBe(before.groups);
    expect(after.members.map((member) => member.id)).toEqual(['a0', 'r1', 'r2', 'r3', 'router-1']);
    expect(Object.isFrozen(after) && Object.isFrozen(after.members)).toBe(true);
  });
});

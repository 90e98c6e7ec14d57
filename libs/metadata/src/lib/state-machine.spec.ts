import { InternalError } from '@bulwark/errors';
import { groupFixture, registerAll, replica } from '../testing';
import { MetadataStateMachine } from './state-machine';
import { emptyTopology } from './topology';
import { topologyEquals } from './topology-equals';
import type { Member, Topology } from './types';

describe('MetadataStateMachine', () => {
  it('applies commands to its topology and remembers their events for watchers', () => {
    const machine = new MetadataStateMachine();
    for (const command of registerAll([replica('r1', 'g1'), replica('r2', 'g1')])) machine.apply(command);
    const rejected = machine.apply({ type: 'deleteGroup', groupId: 'g1' });
    expect(rejected.result.ok).toBe(false);
    expect(machine.topology.revision).toBe(2n);
    expect(machine.eventsSince(1n)).toEqual({
      type: 'events',
      events: [{ revision: 2n, change: { type: 'memberRegistered', member: replica('r2', 'g1') } }],
    });
  });

  it('starts its history at the topology it is built from (a restart from a snapshot)', () => {
    const { topology } = groupFixture();
    const machine = new MetadataStateMachine(topology);
    expect(machine.eventsSince(topology.revision)).toEqual({ type: 'events', events: [] });
    expect(machine.eventsSince(topology.revision - 1n)).toEqual({
      type: 'compacted',
      oldestRevision: topology.revision,
    });
  });

  it('installs a snapshot: the topology is replaced and the history restarts at its revision', () => {
    const machine = new MetadataStateMachine();
    machine.apply({ type: 'registerMember', member: replica('r9', '') });
    const { topology } = groupFixture();
    machine.installSnapshot(topology);
    expect(topologyEquals(machine.topology, topology)).toBe(true);
    expect(machine.eventsSince(1n)).toEqual({ type: 'compacted', oldestRevision: topology.revision });
    machine.apply({ type: 'registerMember', member: replica('r9', '') });
    expect(machine.eventsSince(topology.revision)).toMatchObject({ type: 'events', events: { length: 1 } });
  });

  it('keeps its own frozen copy of an installed snapshot', () => {
    const { topology } = groupFixture();
    const decoded = structuredClone(topology) as Topology;
    const machine = new MetadataStateMachine();
    machine.installSnapshot(decoded);
    (decoded.members as Member[]).pop();
    expect(topologyEquals(machine.topology, topology)).toBe(true);
    expect(Object.isFrozen(machine.topology.members)).toBe(true);
  });

  it('refuses a snapshot that breaks an invariant or moves the revision back, changing nothing', () => {
    const { topology } = groupFixture();
    const machine = new MetadataStateMachine(topology);
    const before = machine.topology;
    const corrupt = { ...topology, groups: topology.groups.map((group) => ({ ...group, primary: 'router-1' })) };
    expect(() => machine.installSnapshot(corrupt)).toThrow(InternalError);
    expect(() => machine.installSnapshot({ ...emptyTopology, revision: topology.revision - 1n })).toThrow(
      /older than the applied revision/,
    );
    expect(machine.topology).toBe(before);
  });

  it('refuses to start from a topology that breaks an invariant', () => {
    const { topology } = groupFixture();
    const unsorted = { ...topology, members: [...topology.members].reverse() };
    expect(() => new MetadataStateMachine(unsorted)).toThrow(/members are not sorted/);
  });
});

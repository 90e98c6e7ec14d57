import { InvalidArgumentError } from '@bulwark/errors';
import { expectRejected, groupFixture } from '../testing';
import { apply } from './apply';
import type { MetadataCommand } from './commands';
import { emptyTopology } from './topology';
import type { Topology } from './types';

/** Every object reachable from a value, for checking that all of them are frozen. */
function reachableObjects(value: unknown, found: object[] = []): object[] {
  if (typeof value !== 'object' || value === null) return found;
  found.push(value);
  for (const child of Object.values(value)) reachableObjects(child, found);
  return found;
}

describe('apply', () => {
  it('starts from revision 0 with no members, no groups and an empty ring at version 0', () => {
    expect(emptyTopology).toEqual({
      revision: 0n,
      members: [],
      groups: [],
      ring: { version: 0n, virtualNodesPerWeight: 4096, groups: [] },
    });
  });

  it('applies a no-op as nothing: same topology, no events, an empty answer', () => {
    const { topology } = groupFixture();
    expect(apply(topology, { type: 'noop' })).toEqual({ topology, events: [], result: { ok: true, value: {} } });
    expect(apply(topology, { type: 'noop' }).topology).toBe(topology);
  });

  it('rejects a command type it does not know instead of stopping, naming command', () => {
    const { topology } = groupFixture();
    const unknown = { type: 'splitGroup' } as unknown as MetadataCommand;
    expectRejected(apply(topology, unknown), topology, InvalidArgumentError, 'command');
  });

  it('returns deeply frozen topologies and events, and leaves the input as it was', () => {
    const { topology } = groupFixture({ onRing: true });
    const before = structuredClone(topology) as Topology;
    const { topology: next, events } = apply(topology, {
      type: 'renewPrimaryLease',
      groupId: 'g1',
      memberId: 'r1',
      epoch: topology.groups[0]?.epoch ?? 0n,
      nowMs: 10_000n,
      leaseMs: 1_000,
    });
    expect(topology).toEqual(before);
    expect(next).not.toBe(topology);
    for (const value of [...reachableObjects(next), ...reachableObjects(events)])
      expect(Object.isFrozen(value)).toBe(true);
  });

  it('shares what a command did not change with the topology before it', () => {
    const { topology } = groupFixture({ onRing: true });
    const { topology: next } = apply(topology, {
      type: 'updateInSyncSet',
      groupId: 'g1',
      epoch: topology.groups[0]?.epoch ?? 0n,
      primaryId: 'r1',
      inSync: ['r1'],
    });
    expect(next.members).toBe(topology.members);
    expect(next.ring).toBe(topology.ring);
  });

  it('copies what it keeps from a command, so changing the command afterwards changes nothing', () => {
    const { topology } = groupFixture();
    const inSync = ['r1', 'r2'];
    const { topology: next } = apply(topology, {
      type: 'updateInSyncSet',
      groupId: 'g1',
      epoch: topology.groups[0]?.epoch ?? 0n,
      primaryId: 'r1',
      inSync,
    });
    inSync.push('r3');
    expect(next.groups[0]?.inSync).toEqual(['r1', 'r2']);
  });
});

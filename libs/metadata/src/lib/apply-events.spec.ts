import { groupFixture, replica } from '../testing';
import { apply } from './apply';
import { applyEvents } from './apply-events';
import type { MetadataCommand } from './commands';
import { emptyTopology } from './topology';
import { topologyEquals } from './topology-equals';

describe('applyEvents', () => {
  it('rebuilds a topology from the events that made it, command by command', () => {
    const { topology: start } = groupFixture({ onRing: true });
    const commands: MetadataCommand[] = [
      { type: 'registerMember', member: replica('r4', 'g2') },
      { type: 'createGroup', groupId: 'g2', members: ['r4'], mode: 'async' },
      { type: 'setRing', expectedVersion: 1n, virtualNodesPerWeight: 0, groups: [{ groupId: 'g2', weight: 1 }] },
      { type: 'deleteGroup', groupId: 'g1' },
    ];
    let topology = start;
    let cache = start;
    for (const command of commands) {
      const applied = apply(topology, command);
      expect(applied.result.ok).toBe(true);
      topology = applied.topology;
      cache = applyEvents(cache, applied.events);
      expect(topologyEquals(cache, topology)).toBe(true);
    }
  });

  it('does no harm when an event arrives twice', () => {
    const { topology, events } = apply(emptyTopology, { type: 'registerMember', member: replica('r1', '') });
    expect(topologyEquals(applyEvents(topology, events), topology)).toBe(true);
  });

  it('refuses a gap: the cache would silently miss a change', () => {
    const { events } = apply(emptyTopology, { type: 'registerMember', member: replica('r1', '') });
    const { topology } = groupFixture();
    expect(() => applyEvents(topology, events)).toThrow(RangeError);
    const skipped = events.map((event) => ({ ...event, revision: 2n }));
    expect(() => applyEvents(emptyTopology, skipped)).toThrow(RangeError);
  });
});

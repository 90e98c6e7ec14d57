import { MetadataReplica, topologyListenersMax, type TopologyUpdate } from './metadata-replica';
import { encodeCommand } from './command-codec';

describe('MetadataReplica', () => {
  it('refuses a snapshot it cannot decode, naming its slot and changing nothing', () => {
    const replica = new MetadataReplica(() => 0);
    replica.apply({
      slot: 1n,
      command: encodeCommand({
        type: 'registerMember',
        member: { id: 'r1', address: 'r1:7100', role: 'router', groupId: '' },
      }),
    });
    const before = replica.machine.topology;
    expect(() => replica.restore({ lastSlot: 9n, data: new Uint8Array([0xff, 0xff, 0xff]) })).toThrow(
      /snapshot at slot 9 is invalid/,
    );
    expect(replica.machine.topology).toBe(before);
  });

  it('hands every watcher the same encoded update', () => {
    const replica = new MetadataReplica(() => 0);
    const seen: TopologyUpdate[][] = [[], []];
    replica.subscribe((update) => seen[0]!.push(update));
    replica.subscribe((update) => seen[1]!.push(update));
    replica.apply({
      slot: 1n,
      command: encodeCommand({
        type: 'registerMember',
        member: { id: 'r1', address: 'r1:7100', role: 'router', groupId: '' },
      }),
    });
    expect(seen[0]).toHaveLength(1);
    expect(seen[0]![0]).toBe(seen[1]![0]);
    expect(seen[0]![0]).toMatchObject({ type: 'events', revision: 1n });
  });

  it('refuses a watcher beyond topologyListenersMax, and takes one again once another leaves', () => {
    const replica = new MetadataReplica(() => 0);
    const listeners = Array.from({ length: topologyListenersMax }, () => () => {});
    for (const listener of listeners) expect(replica.subscribe(listener)).toBe(true);
    const oneMore = () => {};
    expect(replica.subscribe(oneMore)).toBe(false);
    replica.unsubscribe(listeners[0]!);
    expect(replica.subscribe(oneMore)).toBe(true);
  });
});

import { setMaxListeners } from 'node:events';
import { ResourceExhaustedError } from '@bulwark/errors';
import { appliedWaitersMax, MetadataReplica, topologyListenersMax, type TopologyUpdate } from './metadata-replica';
import { encodeCommand } from './command-codec';

describe('MetadataReplica', () => {
  it('refuses a snapshot it cannot decode, naming its slot and changing nothing', () => {
    const replica = new MetadataReplica(() => 0);
    replica.apply({
      slot: 1n,
      command: encodeCommand({
        type: 'registerMember',
        member: { id: 'r1', address: 'r1:7100', role: 'router', groupId: '', metricsAddress: '' },
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
        member: { id: 'r1', address: 'r1:7100', role: 'router', groupId: '', metricsAddress: '' },
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

  describe('whenApplied', () => {
    const register = (replica: MetadataReplica, slot: bigint, id: string) =>
      replica.apply({
        slot,
        command: encodeCommand({
          type: 'registerMember',
          member: { id, address: `${id}:7100`, role: 'router', groupId: '', metricsAddress: '' },
        }),
      });

    it('resolves true at once when the state holds already, and on the apply that makes it hold', async () => {
      const replica = new MetadataReplica(() => 0);
      expect(await replica.whenApplied(() => true, 0)).toBe(true);
      const registered = replica.whenApplied(() => replica.machine.revision >= 2n, 10_000);
      register(replica, 1n, 'a');
      register(replica, 2n, 'b');
      expect(await registered).toBe(true);
    });

    it('resolves false when the caller gives up, and refuses a waiter beyond appliedWaitersMax', async () => {
      const replica = new MetadataReplica(() => 0);
      const cancelled = new AbortController();
      // One signal for every waiter here (each call has its own in the service).
      setMaxListeners(appliedWaitersMax, cancelled.signal);
      const never = () => false;
      const waiting = Array.from({ length: appliedWaitersMax }, () =>
        replica.whenApplied(never, 10_000, cancelled.signal),
      );
      await expect(replica.whenApplied(never, 10_000)).rejects.toBeInstanceOf(ResourceExhaustedError);
      cancelled.abort();
      expect(await Promise.all(waiting)).toEqual(waiting.map(() => false));
      // The aborted waiters are gone: another one is taken.
      expect(await replica.whenApplied(never, 1)).toBe(false);
    });
  });
});

import { createHash } from 'node:crypto';
import { NotFoundError } from '@bulwark/errors';
import { MetadataStateMachine, topologyEquals, type MetadataCommand, type RequestKey } from '@bulwark/metadata';
import { decodeEntry, encodeCommand, type Change } from './command-codec';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec';

const key = (id: string): RequestKey => ({ id, fingerprint: createHash('sha256').update(id).digest('hex') });

describe('snapshots and log entries', () => {
  it('round-trip the remembered requests with every kind of outcome, so a restored member answers retries alike', () => {
    const machine = new MetadataStateMachine();
    const commands: Array<[Change, string]> = [
      [
        {
          type: 'registerMember',
          member: { id: 'r1', address: 'r1:1', role: 'replica', groupId: 'g1', metricsAddress: 'r1:9464' },
        },
        'a1',
      ],
      [
        {
          type: 'registerMember',
          member: { id: 'r2', address: 'r2:1', role: 'replica', groupId: 'g1', metricsAddress: '' },
        },
        'a2',
      ],
      [{ type: 'createGroup', groupId: 'g1', members: ['r1', 'r2'], mode: 'async' }, 'b1'],
      [{ type: 'createGroup', groupId: 'g2', members: ['r9'], mode: 'sync' }, 'b2'],
      [
        { type: 'setRing', expectedVersion: 0n, virtualNodesPerWeight: 8, groups: [{ groupId: 'g1', weight: 3 }] },
        'c1',
      ],
      [{ type: 'renewPrimaryLease', groupId: 'g1', memberId: 'r1', epoch: 3n, leaseMs: 4_000 }, 'd1'],
      [{ type: 'startHandover', groupId: 'g1', expectedEpoch: 3n, target: 'r2' }, 'h1'],
      [
        { type: 'failover', groupId: 'g1', expectedEpoch: 3n, newPrimary: 'r2', expectedPrimaryLeaseRevision: 5n },
        'f1',
      ],
      [{ type: 'updateInSyncSet', groupId: 'g1', epoch: 4n, primaryId: 'r2', inSync: ['r2'] }, 'e1'],
      [
        { type: 'setRing', expectedVersion: 1n, virtualNodesPerWeight: 8, groups: [{ groupId: 'g1', weight: 1 }] },
        'c2',
      ],
      [
        {
          type: 'registerMember',
          member: { id: 'r3', address: 'r3:1', role: 'replica', groupId: 'g3', metricsAddress: '' },
        },
        'a3',
      ],
      [{ type: 'createGroup', groupId: 'g3', members: ['r3'], mode: 'sync' }, 'b3'],
      [{ type: 'deleteGroup', groupId: 'g3' }, 'g1'],
      [
        {
          type: 'registerMember',
          member: { id: 'router-1', address: 'x:1', role: 'router', groupId: '', metricsAddress: '' },
        },
        'a4',
      ],
      [{ type: 'deregisterMember', memberId: 'router-1' }, 'i1'],
    ];
    for (const [command, id] of commands) {
      // Through the log's bytes, as the runner applies them.
      const entry = decodeEntry(encodeCommand(command, key(id)));
      expect(entry.request).toEqual(key(id));
      machine.apply(entry.command, entry.request);
    }
    const remembered = machine.rememberedRequests;
    expect(remembered.filter((request) => !request.result.ok).map((request) => request.id)).toEqual(['b2']);
    expect(remembered).toHaveLength(commands.length);
    const decoded = decodeSnapshot(encodeSnapshot({ topology: machine.topology, requests: remembered }));
    expect(topologyEquals(decoded.topology, machine.topology)).toBe(true);
    expect(decoded.requests).toEqual(remembered);
    const refused = decoded.requests.find((request) => request.id === 'b2');
    expect(refused?.result.ok === false && refused.result.error).toBeInstanceOf(NotFoundError);
    const restored = new MetadataStateMachine();
    restored.installSnapshot(decoded.topology, decoded.requests);
    expect(restored.rememberedRequests).toEqual(remembered);
  });

  it('carry no request key for a call without a request_id: its made-up id is never remembered', () => {
    const command: MetadataCommand = { type: 'deleteGroup', groupId: 'g1', expectedPrimaryLeaseRevision: 3n };
    const first = encodeCommand(command);
    expect(decodeEntry(first)).toEqual({ command });
    // Two calls of the same command are different entries, so each waiter knows its own.
    expect(Buffer.from(first).equals(Buffer.from(encodeCommand(command)))).toBe(false);
  });
});

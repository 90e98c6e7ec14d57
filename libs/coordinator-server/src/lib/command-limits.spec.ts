import { InvalidArgumentError } from '@bulwark/errors';
import {
  addressLengthMax,
  groupMembersMax,
  idLengthMax,
  leaseMsMax,
  MetadataStateMachine,
  requestIdLengthMax,
  topologyGroupsMax,
} from '@bulwark/metadata';
import { weightMax } from '@bulwark/partitioning';
import { encodeCommand, type Change } from './command-codec';
import { commandBytesMax } from './command-limits';

const uint64Max = (1n << 64n) - 1n;
/** Distinct ids of the longest valid length. */
const longId = (index: number) => `m${String(index).padStart(idLengthMax - 1, '0')}`;
const longIds = (count: number) => Array.from({ length: count }, (_, index) => longId(index));
const longestHost = [...Array.from({ length: 63 }, () => 'abc'), 'a'].join('.');

/** The largest request of each kind that every field check accepts. */
const largestCommands: Change[] = [
  {
    type: 'registerMember',
    member: { id: longId(0), address: `${longestHost}:65535`, role: 'replica', groupId: longId(1), metricsAddress: '' },
  },
  { type: 'createGroup', groupId: longId(0), members: longIds(groupMembersMax), mode: 'async' },
  { type: 'deleteGroup', groupId: longId(0), expectedPrimaryLeaseRevision: uint64Max },
  {
    type: 'setRing',
    expectedVersion: uint64Max,
    // The most points the ring allows with every group at the highest weight.
    virtualNodesPerWeight: 1,
    groups: longIds(topologyGroupsMax).map((groupId) => ({ groupId, weight: weightMax })),
  },
  {
    type: 'failover',
    groupId: longId(0),
    expectedEpoch: uint64Max,
    newPrimary: longId(1),
    expectedPrimaryLeaseRevision: uint64Max,
  },
  { type: 'startHandover', groupId: longId(0), expectedEpoch: uint64Max, target: longId(1) },
  { type: 'renewPrimaryLease', groupId: longId(0), memberId: longId(1), epoch: uint64Max, leaseMs: leaseMsMax },
  {
    type: 'updateInSyncSet',
    groupId: longId(0),
    epoch: uint64Max,
    primaryId: longId(0),
    inSync: longIds(groupMembersMax),
  },
];
const longestKey = { id: '~'.repeat(requestIdLengthMax), fingerprint: 'f'.repeat(64) };

describe('commandBytesMax', () => {
  it('is the bound computed from the field limits: about 71 KiB', () => {
    expect(`${longestHost}:65535`).toHaveLength(addressLengthMax);
    expect(commandBytesMax).toBeGreaterThan(70 * 1024);
    expect(commandBytesMax).toBeLessThan(72 * 1024);
  });

  it.each(largestCommands.map((command) => [command.type, command] as const))(
    'holds the largest %s any valid request makes, with the longest request_id',
    (_, command) => {
      // Valid in form: the state (unknown groups here) may still refuse it, but no field check does.
      const checked = new MetadataStateMachine().check(command);
      expect(checked.ok || !(checked.error instanceof InvalidArgumentError)).toBe(true);
      expect(encodeCommand(command, longestKey).length).toBeLessThanOrEqual(commandBytesMax);
    },
  );

  it('is tight: the largest SetRing comes within 1% of it', () => {
    const setRing = largestCommands.find((command) => command.type === 'setRing') as Change;
    expect(encodeCommand(setRing, longestKey).length).toBeGreaterThan(commandBytesMax * 0.99);
  });
});

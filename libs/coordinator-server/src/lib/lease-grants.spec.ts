import { MetadataStateMachine, findGroup, type MetadataCommand, type ReplicaGroup } from '@bulwark/metadata';
import { LeaseGrants } from './lease-grants';

const leaseMs = 5_000;
const driftMs = 500;

describe('LeaseGrants', () => {
  let nowMs: number;
  let grants: LeaseGrants;
  let machine: MetadataStateMachine;
  const apply = (command: MetadataCommand) => grants.noteEvents(machine.apply(command).events);
  const group = () => findGroup(machine.topology, 'g1') as ReplicaGroup;
  const renew = () =>
    apply({ type: 'renewPrimaryLease', groupId: 'g1', memberId: 'r1', epoch: group().epoch, leaseMs });

  beforeEach(() => {
    nowMs = 0;
    grants = new LeaseGrants(() => nowMs);
    machine = new MetadataStateMachine();
    for (const id of ['r1', 'r2']) {
      apply({
        type: 'registerMember',
        member: { id, address: `${id}:1`, role: 'replica', groupId: 'g1', metricsAddress: '' },
      });
    }
    apply({ type: 'createGroup', groupId: 'g1', members: ['r1', 'r2'], mode: 'sync' });
  });

  it('needs no wait while the primary holds no lease at its epoch', () => {
    expect(grants.failoverWaitMs(group(), 0, driftMs)).toBe(0);
  });

  it('counts lease + drift from the grant, or from becoming leader when that is later', () => {
    nowMs = 1_000;
    renew();
    nowMs = 2_000;
    expect(grants.failoverWaitMs(group(), 0, driftMs)).toBe(1_000 + leaseMs + driftMs - 2_000);
    expect(grants.failoverWaitMs(group(), 1_500, driftMs)).toBe(1_500 + leaseMs + driftMs - 2_000);
    nowMs = 1_000 + leaseMs + driftMs;
    expect(grants.failoverWaitMs(group(), 0, driftMs)).toBe(0);
  });

  it('rounds a fractional clock up, never down', () => {
    nowMs = 0.25;
    renew();
    nowMs = leaseMs + driftMs;
    expect(grants.failoverWaitMs(group(), 0, driftMs)).toBe(1);
  });

  it('is not restarted by a change that grants no lease', () => {
    nowMs = 1_000;
    renew();
    nowMs = 3_000;
    apply({ type: 'updateInSyncSet', groupId: 'g1', epoch: group().epoch, primaryId: 'r1', inSync: ['r1'] });
    expect(grants.failoverWaitMs(group(), 0, driftMs)).toBe(1_000 + leaseMs + driftMs - 3_000);
  });

  it('has a lease end once lease + drift passed since the grant: sinceLeaseEndedMs reaches 0 with failoverWaitMs', () => {
    nowMs = 1_000;
    renew();
    nowMs = 1_000 + leaseMs + driftMs - 1;
    expect(grants.sinceLeaseEndedMs(group(), 0, 600, driftMs)).toBe(-1);
    expect(grants.failoverWaitMs(group(), 0, driftMs)).toBe(1);
    nowMs += 1;
    expect(grants.sinceLeaseEndedMs(group(), 0, 600, driftMs)).toBe(0);
    expect(grants.failoverWaitMs(group(), 0, driftMs)).toBe(0);
  });

  it('gives a new epoch without a grant the renewal lease + drift from when it began, or from becoming leader when later', () => {
    // Created at 0 with no lease: a failover need not wait, but the automatic one gives it time to renew.
    expect(grants.failoverWaitMs(group(), 0, driftMs)).toBe(0);
    nowMs = 600 + driftMs - 1;
    expect(grants.sinceLeaseEndedMs(group(), 0, 600, driftMs)).toBe(-1);
    expect(grants.sinceLeaseEndedMs(group(), 100, 600, driftMs)).toBe(-101);
    nowMs = 2_000;
    apply({
      type: 'failover',
      groupId: 'g1',
      expectedEpoch: group().epoch,
      newPrimary: 'r2',
      expectedPrimaryLeaseRevision: group().primaryLeaseRevision,
    });
    expect(grants.sinceLeaseEndedMs(group(), 0, 600, driftMs)).toBe(-(600 + driftMs));
  });

  it('counts every lease of an installed snapshot from the install, since when it was granted is unknown', () => {
    renew();
    const restored = new MetadataStateMachine();
    restored.installSnapshot(machine.topology);
    nowMs = 50_000;
    grants.noteSnapshot(restored.topology.groups);
    expect(grants.failoverWaitMs(group(), 0, driftMs)).toBe(leaseMs + driftMs);
  });
});

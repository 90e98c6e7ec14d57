import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import { expectRejected, groupFixture, leasedFixture } from '../../testing';
import { apply } from '../apply';
import { findGroup, findMember } from '../topology';

describe('deleteGroup', () => {
  it('removes a group that is not on the ring; its replicas stay registered with the group they declared', () => {
    const { topology: start } = groupFixture();
    const { topology, events, result } = apply(start, { type: 'deleteGroup', groupId: 'g1' });
    expect(findGroup(topology, 'g1')).toBeUndefined();
    expect(topology.revision).toBe(start.revision + 1n);
    expect(topology.members).toBe(start.members);
    expect(findMember(topology, 'r1')?.groupId).toBe('g1');
    expect(events).toEqual([{ revision: topology.revision, change: { type: 'groupDeleted', groupId: 'g1' } }]);
    expect(result).toEqual({ ok: true, value: { groupId: 'g1' } });
  });

  it('rejects a group still on the ring as FAILED_PRECONDITION naming group_id', () => {
    const { topology } = groupFixture({ onRing: true });
    const message = expectRejected(
      apply(topology, { type: 'deleteGroup', groupId: 'g1' }),
      topology,
      FailedPreconditionError,
      'group_id',
    );
    expect(message).toContain('ring');
  });

  it('rejects an unknown group as NOT_FOUND and a malformed id as INVALID_ARGUMENT, both naming group_id', () => {
    const { topology } = groupFixture();
    expectRejected(apply(topology, { type: 'deleteGroup', groupId: 'g2' }), topology, NotFoundError, 'group_id');
    expectRejected(apply(topology, { type: 'deleteGroup', groupId: '' }), topology, InvalidArgumentError, 'group_id');
  });

  it('refuses, retryably, a deletion decided before a lease grant that reached the log first', () => {
    const { topology: before, group } = groupFixture();
    const { topology } = leasedFixture(5_000);
    const decidedAt = group.primaryLeaseRevision;
    expect(findGroup(topology, 'g1')?.primaryLeaseRevision).not.toBe(decidedAt);
    const outcome = apply(topology, { type: 'deleteGroup', groupId: 'g1', expectedPrimaryLeaseRevision: decidedAt });
    expectRejected(outcome, topology, FailedPreconditionError, 'expected_primary_lease_revision');
    expect(!outcome.result.ok && outcome.result.error.retryable).toBe(true);
    // Decided on the state it applies to, it goes through.
    const current = findGroup(topology, 'g1')?.primaryLeaseRevision;
    expect(
      apply(topology, { type: 'deleteGroup', groupId: 'g1', expectedPrimaryLeaseRevision: current }).result.ok,
    ).toBe(true);
    expect(
      apply(before, { type: 'deleteGroup', groupId: 'g1', expectedPrimaryLeaseRevision: decidedAt }).result.ok,
    ).toBe(true);
  });
});

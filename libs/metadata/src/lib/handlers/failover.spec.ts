import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import { applyAll, expectRejected, leasedFixture } from '../../testing';
import { apply } from '../apply';
import type { FailoverCommand } from '../commands';
import { findGroup } from '../topology';

const { topology: leased, group } = leasedFixture(5_000);

/** A failover its leader decided on `leased`: it carries the lease revision it saw there. */
const failover = (overrides: Partial<FailoverCommand> = {}): FailoverCommand => ({
  type: 'failover',
  groupId: 'g1',
  expectedEpoch: group.epoch,
  newPrimary: 'r2',
  expectedPrimaryLeaseRevision: group.primaryLeaseRevision,
  ...overrides,
});

describe('failover', () => {
  it('moves the primary at epoch + 1 without a lease; the old primary leaves the in-sync set', () => {
    const { topology, events, result } = apply(leased, failover());
    const next = {
      ...group,
      epoch: group.epoch + 1n,
      primary: 'r2',
      inSync: ['r2', 'r3'],
      primaryLeaseRevision: topology.revision,
      primaryLeaseMs: 0,
      handoverTarget: '',
    };
    expect(findGroup(topology, 'g1')).toEqual(next);
    expect(topology.revision).toBe(leased.revision + 1n);
    expect(events).toEqual([{ revision: topology.revision, change: { type: 'groupUpdated', group: next } }]);
    expect(result).toEqual({ ok: true, value: { group: next } });
  });

  it('refuses, retryably and changing nothing, a failover decided before a lease grant that the log ordered first', () => {
    // The leader saw `leased` and waited out its lease; the primary's next
    // renewal committed between the failover's proposal and its apply.
    const renewed = applyAll(
      [{ type: 'renewPrimaryLease', groupId: 'g1', memberId: 'r1', epoch: group.epoch, leaseMs: 5_000 }],
      leased,
    );
    const rejected = apply(renewed, failover());
    const message = expectRejected(rejected, renewed, FailedPreconditionError, 'expected_primary_lease_revision');
    expect(rejected.result.ok === false && rejected.result.error.retryable).toBe(true);
    expect(message).toContain(`revision ${renewed.revision}`);
    // Decided again with the new grant (waited out by the leader), it applies.
    const again = failover({ expectedPrimaryLeaseRevision: findGroup(renewed, 'g1')?.primaryLeaseRevision });
    expect(apply(renewed, again).result.ok).toBe(true);
  });

  it('skips the epoch check for expected_epoch 0 and refuses any other epoch than the current one', () => {
    expect(apply(leased, failover({ expectedEpoch: 0n })).result.ok).toBe(true);
    for (const expectedEpoch of [group.epoch - 1n, group.epoch + 1n]) {
      expectRejected(apply(leased, failover({ expectedEpoch })), leased, FailedPreconditionError, 'expected_epoch');
    }
  });

  it('refuses a second failover computed from the same epoch (a retried or concurrent request)', () => {
    const once = applyAll([failover()], leased);
    expectRejected(apply(once, failover({ newPrimary: 'r3' })), once, FailedPreconditionError, 'expected_epoch');
  });

  it('re-appoints the current primary at the next epoch, keeping the in-sync set (it restarted: a new epoch, not the old one again)', () => {
    const { topology, result } = apply(leased, failover({ newPrimary: 'r1' }));
    const next = {
      ...group,
      epoch: group.epoch + 1n,
      primary: 'r1',
      inSync: ['r1', 'r2', 'r3'],
      primaryLeaseRevision: topology.revision,
      primaryLeaseMs: 0,
      handoverTarget: '',
    };
    expect(result).toEqual({ ok: true, value: { group: next } });
    // The only in-sync member is re-appointed alike.
    const alone = applyAll(
      [{ type: 'updateInSyncSet', groupId: 'g1', epoch: group.epoch, primaryId: 'r1', inSync: ['r1'] }],
      leased,
    );
    const again = apply(alone, failover({ newPrimary: 'r1' }));
    expect(findGroup(again.topology, 'g1')).toMatchObject({ epoch: group.epoch + 1n, primary: 'r1', inSync: ['r1'] });
  });

  it('clears a handover target at the next epoch, whoever becomes primary', () => {
    const handingOver = applyAll(
      [{ type: 'startHandover', groupId: 'g1', expectedEpoch: group.epoch, target: 'r3' }],
      leased,
    );
    for (const newPrimary of ['r3', 'r2', 'r1']) {
      const moved = apply(handingOver, failover({ newPrimary }));
      expect(findGroup(moved.topology, 'g1')).toMatchObject({
        epoch: group.epoch + 1n,
        primary: newPrimary,
        handoverTarget: '',
      });
    }
  });

  it('refuses a member out of sync and a non-member, naming target_primary', () => {
    const shrunk = applyAll(
      [{ type: 'updateInSyncSet', groupId: 'g1', epoch: group.epoch, primaryId: 'r1', inSync: ['r1', 'r2'] }],
      leased,
    );
    const lagging = expectRejected(
      apply(shrunk, failover({ newPrimary: 'r3' })),
      shrunk,
      FailedPreconditionError,
      'target_primary',
    );
    expect(lagging).toContain('in-sync set');
    const stranger = expectRejected(
      apply(leased, failover({ newPrimary: 'router-1' })),
      leased,
      FailedPreconditionError,
      'target_primary',
    );
    expect(stranger).toContain('members');
  });

  it('lets the old primary back into the in-sync set only through the new primary at the new epoch', () => {
    const moved = applyAll([failover()], leased);
    const epoch = group.epoch + 1n;
    const byOldPrimary = {
      type: 'updateInSyncSet' as const,
      groupId: 'g1',
      epoch,
      primaryId: 'r1',
      inSync: ['r1', 'r2'],
    };
    expectRejected(apply(moved, byOldPrimary), moved, FailedPreconditionError, 'primary_id');
    const rejoined = applyAll([{ ...byOldPrimary, primaryId: 'r2', inSync: ['r3', 'r2', 'r1'] }], moved);
    expect(findGroup(rejoined, 'g1')?.inSync).toEqual(['r1', 'r2', 'r3']);
  });

  it('starts the new epoch without a lease; a failover decided before the first one is refused', () => {
    const moved = applyAll([failover()], leased);
    const movedGroup = findGroup(moved, 'g1');
    expect(movedGroup).toMatchObject({ primaryLeaseRevision: moved.revision, primaryLeaseMs: 0 });
    // A second failover computed from the old epoch's lease revision (a stale leader's view).
    const stale = failover({ expectedEpoch: 0n, newPrimary: 'r3' });
    expectRejected(apply(moved, stale), moved, FailedPreconditionError, 'expected_primary_lease_revision');
    const current = { ...stale, expectedPrimaryLeaseRevision: moved.revision };
    expect(apply(moved, current).result.ok).toBe(true);
  });

  it('rejects an unknown group as NOT_FOUND naming group_id', () => {
    expectRejected(apply(leased, failover({ groupId: 'g9' })), leased, NotFoundError, 'group_id');
  });

  it.each([
    ['group_id', failover({ groupId: 'G1' })],
    ['expected_epoch', failover({ expectedEpoch: -1n })],
    ['target_primary', failover({ newPrimary: '' })],
    ['expected_primary_lease_revision', failover({ expectedPrimaryLeaseRevision: -1n })],
    ['expected_primary_lease_revision', failover({ expectedPrimaryLeaseRevision: 3 as unknown as bigint })],
  ])('rejects a malformed request as INVALID_ARGUMENT naming %s', (field, command) => {
    expectRejected(apply(leased, command), leased, InvalidArgumentError, field);
  });
});

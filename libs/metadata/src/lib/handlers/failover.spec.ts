import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import { applyAll, expectRejected, leasedFixture } from '../../testing';
import { apply } from '../apply';
import type { FailoverCommand } from '../commands';
import { leaseDriftMsMax } from '../limits';
import { findGroup } from '../topology';

const leaseExpiryMs = 5_000n;
const driftMs = 500n;
const { topology: leased, group } = leasedFixture(leaseExpiryMs);

const failover = (overrides: Partial<FailoverCommand> = {}): FailoverCommand => ({
  type: 'failover',
  groupId: 'g1',
  expectedEpoch: group.epoch,
  newPrimary: 'r2',
  nowMs: leaseExpiryMs + driftMs,
  leaseDriftMs: driftMs,
  ...overrides,
});

describe('failover', () => {
  it('moves the primary at epoch + 1 once the lease plus drift has passed; the old primary leaves the in-sync set', () => {
    const { topology, events, result } = apply(leased, failover());
    const next = {
      ...group,
      epoch: group.epoch + 1n,
      primary: 'r2',
      inSync: ['r2', 'r3'],
      primaryLeaseExpiryMs: leaseExpiryMs + driftMs,
    };
    expect(findGroup(topology, 'g1')).toEqual(next);
    expect(topology.revision).toBe(leased.revision + 1n);
    expect(events).toEqual([{ revision: topology.revision, change: { type: 'groupUpdated', group: next } }]);
    expect(result).toEqual({ ok: true, value: { group: next } });
  });

  it('refuses while the old lease plus drift may still run, even by 1 ms, naming the lease', () => {
    const early = failover({ nowMs: leaseExpiryMs + driftMs - 1n });
    const message = expectRejected(
      apply(leased, early),
      leased,
      FailedPreconditionError,
      'primary_lease_expiry_unix_ms',
    );
    expect(message).toContain(`${leaseExpiryMs + driftMs}`);
  });

  it('rechecks the lease at apply: a renewal ordered first in the log defeats a failover proposed before it', () => {
    const renewal = {
      type: 'renewPrimaryLease' as const,
      groupId: 'g1',
      memberId: 'r1',
      epoch: group.epoch,
      nowMs: leaseExpiryMs,
      leaseMs: 3_000,
    };
    const renewed = applyAll([renewal], leased);
    expectRejected(apply(renewed, failover()), renewed, FailedPreconditionError, 'primary_lease_expiry_unix_ms');
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

  it('refuses the current primary, a member out of sync and a non-member, naming target_primary', () => {
    expectRejected(apply(leased, failover({ newPrimary: 'r1' })), leased, FailedPreconditionError, 'target_primary');
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

  it('starts the new epoch without a lease, and a failover from it waits for that expiry plus drift', () => {
    const moved = applyAll([failover()], leased);
    const movedAtMs = leaseExpiryMs + driftMs;
    expect(findGroup(moved, 'g1')?.primaryLeaseExpiryMs).toBe(movedAtMs);
    const back = failover({ expectedEpoch: 0n, newPrimary: 'r3', nowMs: movedAtMs + driftMs - 1n });
    expectRejected(apply(moved, back), moved, FailedPreconditionError, 'primary_lease_expiry_unix_ms');
    expect(apply(moved, { ...back, nowMs: movedAtMs + driftMs }).result.ok).toBe(true);
  });

  it('rejects an unknown group as NOT_FOUND naming group_id', () => {
    expectRejected(apply(leased, failover({ groupId: 'g9' })), leased, NotFoundError, 'group_id');
  });

  it.each([
    ['group_id', failover({ groupId: 'G1' })],
    ['expected_epoch', failover({ expectedEpoch: -1n })],
    ['target_primary', failover({ newPrimary: '' })],
    ['now_unix_ms', failover({ nowMs: -1n })],
    ['lease_drift_ms', failover({ leaseDriftMs: leaseDriftMsMax + 1n })],
    ['lease_drift_ms', failover({ leaseDriftMs: -1n })],
  ])('rejects a malformed request as INVALID_ARGUMENT naming %s', (field, command) => {
    expectRejected(apply(leased, command), leased, InvalidArgumentError, field);
  });
});

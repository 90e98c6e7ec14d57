import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import { applyAll, createdAtMs, expectRejected, groupFixture } from '../../testing';
import { apply } from '../apply';
import type { RenewPrimaryLeaseCommand } from '../commands';
import { leaseMsMax } from '../limits';
import { findGroup } from '../topology';

const { topology: created, group } = groupFixture();

const renew = (overrides: Partial<RenewPrimaryLeaseCommand> = {}): RenewPrimaryLeaseCommand => ({
  type: 'renewPrimaryLease',
  groupId: 'g1',
  memberId: 'r1',
  epoch: group.epoch,
  nowMs: 2_000n,
  leaseMs: 3_000,
  ...overrides,
});

describe('renewPrimaryLease', () => {
  it('extends the lease of the primary at its epoch to now + lease_ms', () => {
    const { topology, events, result } = apply(created, renew());
    const next = { ...group, primaryLeaseExpiryMs: 5_000n };
    expect(findGroup(topology, 'g1')).toEqual(next);
    expect(topology.revision).toBe(created.revision + 1n);
    expect(events).toEqual([{ revision: topology.revision, change: { type: 'groupUpdated', group: next } }]);
    expect(result).toEqual({ ok: true, value: { group: next, leaseMs: 3_000 } });
  });

  it('never moves the expiry back: a renewal with an older clock reading changes nothing and takes no revision', () => {
    const renewed = applyAll([renew()], created);
    const behind = apply(renewed, renew({ nowMs: 1_500n }));
    expect(behind.topology).toBe(renewed);
    expect(behind.events).toEqual([]);
    // Still a grant: the stored expiry (5000) covers 1500 + 3000.
    expect(behind.result).toEqual({ ok: true, value: { group: findGroup(renewed, 'g1'), leaseMs: 3_000 } });
    expect(apply(renewed, renew({ nowMs: 2_000n })).topology).toBe(renewed);
  });

  it('refuses a deposed primary (stale epoch) naming epoch, and a backup at the current epoch naming member_id', () => {
    const moved = applyAll(
      [{ type: 'failover', groupId: 'g1', expectedEpoch: 0n, newPrimary: 'r2', nowMs: createdAtMs, leaseDriftMs: 0n }],
      created,
    );
    const message = expectRejected(apply(moved, renew()), moved, FailedPreconditionError, 'epoch');
    expect(message).toContain(`epoch ${group.epoch + 1n}`);
    expectRejected(apply(moved, renew({ epoch: group.epoch + 1n })), moved, FailedPreconditionError, 'member_id');
    expect(apply(moved, renew({ epoch: group.epoch + 1n, memberId: 'r2' })).result.ok).toBe(true);
  });

  it('refuses an epoch ahead of the group naming epoch', () => {
    expectRejected(apply(created, renew({ epoch: group.epoch + 1n })), created, FailedPreconditionError, 'epoch');
  });

  it('rejects an unknown group as NOT_FOUND naming group_id', () => {
    expectRejected(apply(created, renew({ groupId: 'g2' })), created, NotFoundError, 'group_id');
  });

  it.each([
    ['group_id', renew({ groupId: '' })],
    ['member_id', renew({ memberId: 'R1' })],
    ['epoch', renew({ epoch: -1n })],
    ['now_unix_ms', renew({ nowMs: -1n })],
    ['lease_ms', renew({ leaseMs: 0 })],
    ['lease_ms', renew({ leaseMs: leaseMsMax + 1 })],
    ['lease_ms', renew({ leaseMs: 1.5 })],
  ])('rejects a malformed request as INVALID_ARGUMENT naming %s', (field, command) => {
    expectRejected(apply(created, command), created, InvalidArgumentError, field);
  });
});

import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import { applyAll, expectRejected, groupFixture } from '../../testing';
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
  leaseMs: 3_000,
  ...overrides,
});

describe('renewPrimaryLease', () => {
  it('grants the primary at its epoch lease_ms: a new revision that moves the lease revision', () => {
    const { topology, events, result } = apply(created, renew());
    const next = { ...group, primaryLeaseRevision: topology.revision, primaryLeaseMs: 3_000 };
    expect(findGroup(topology, 'g1')).toEqual(next);
    expect(topology.revision).toBe(created.revision + 1n);
    expect(events).toEqual([{ revision: topology.revision, change: { type: 'groupUpdated', group: next } }]);
    expect(result).toEqual({ ok: true, value: { group: next, leaseMs: 3_000 } });
  });

  it('makes every grant a revision of its own, so a failover decided before it can tell', () => {
    const once = applyAll([renew()], created);
    const twice = apply(once, renew());
    expect(twice.topology.revision).toBe(once.revision + 1n);
    expect(findGroup(twice.topology, 'g1')?.primaryLeaseRevision).toBe(twice.topology.revision);
  });

  it('keeps the longest lease granted at the epoch, which a leader that missed the grants must wait out', () => {
    const renewed = applyAll([renew({ leaseMs: 4_000 }), renew({ leaseMs: 1_000 })], created);
    expect(findGroup(renewed, 'g1')?.primaryLeaseMs).toBe(4_000);
  });

  it('refuses a deposed primary (stale epoch) naming epoch, and a backup at the current epoch naming member_id', () => {
    const moved = applyAll(
      [
        {
          type: 'failover',
          groupId: 'g1',
          expectedEpoch: 0n,
          newPrimary: 'r2',
          expectedPrimaryLeaseRevision: group.primaryLeaseRevision,
        },
      ],
      created,
    );
    const message = expectRejected(apply(moved, renew()), moved, FailedPreconditionError, 'epoch');
    expect(message).toContain(`epoch ${group.epoch + 1n}`);
    expectRejected(apply(moved, renew({ epoch: group.epoch + 1n })), moved, FailedPreconditionError, 'member_id');
    expect(apply(moved, renew({ epoch: group.epoch + 1n, memberId: 'r2' })).result.ok).toBe(true);
  });

  it('refuses, retryably, every renewal at the epoch once a handover started, so the lease runs out; the next epoch renews', () => {
    const handingOver = applyAll(
      [renew(), { type: 'startHandover', groupId: 'g1', expectedEpoch: group.epoch, target: 'r2' }],
      created,
    );
    const refused = apply(handingOver, renew());
    const message = expectRejected(refused, handingOver, FailedPreconditionError, 'handover_target');
    expect(refused.result.ok === false && refused.result.error.retryable).toBe(true);
    expect(message).toContain("'r2'");
    const moved = applyAll(
      [
        {
          type: 'failover',
          groupId: 'g1',
          expectedEpoch: group.epoch,
          newPrimary: 'r2',
          expectedPrimaryLeaseRevision: findGroup(handingOver, 'g1')?.primaryLeaseRevision ?? 0n,
        },
      ],
      handingOver,
    );
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
    ['lease_ms', renew({ leaseMs: 0 })],
    ['lease_ms', renew({ leaseMs: leaseMsMax + 1 })],
    ['lease_ms', renew({ leaseMs: 1.5 })],
  ])('rejects a malformed request as INVALID_ARGUMENT naming %s', (field, command) => {
    expectRejected(apply(created, command), created, InvalidArgumentError, field);
  });
});

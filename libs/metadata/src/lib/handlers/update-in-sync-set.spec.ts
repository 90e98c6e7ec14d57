import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import { applyAll, expectRejected, groupFixture } from '../../testing';
import { apply } from '../apply';
import type { UpdateInSyncSetCommand } from '../commands';
import { findGroup } from '../topology';

const { topology: created, group } = groupFixture();

const update = (inSync: string[], overrides: Partial<UpdateInSyncSetCommand> = {}): UpdateInSyncSetCommand => ({
  type: 'updateInSyncSet',
  groupId: 'g1',
  epoch: group.epoch,
  primaryId: 'r1',
  inSync,
  ...overrides,
});

describe('updateInSyncSet', () => {
  it('lets the primary shrink the set, stored in member order', () => {
    const { topology, events, result } = apply(created, update(['r3', 'r1']));
    const next = { ...group, inSync: ['r1', 'r3'] };
    expect(findGroup(topology, 'g1')).toEqual(next);
    expect(topology.revision).toBe(created.revision + 1n);
    expect(events).toEqual([{ revision: topology.revision, change: { type: 'groupUpdated', group: next } }]);
    expect(result).toEqual({ ok: true, value: { group: next } });
  });

  it('lets the primary grow the set again', () => {
    const shrunk = applyAll([update(['r1'])], created);
    expect(findGroup(apply(shrunk, update(['r2', 'r1'])).topology, 'g1')?.inSync).toEqual(['r1', 'r2']);
  });

  it('treats the same set (in any order) as a repeat: no change, no revision', () => {
    const same = apply(created, update(['r3', 'r2', 'r1']));
    expect(same.topology).toBe(created);
    expect(same.events).toEqual([]);
    expect(same.result).toEqual({ ok: true, value: { group } });
  });

  it('refuses a primary at a stale epoch naming epoch, and a backup naming primary_id', () => {
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
    // The deposed primary tries to drop the member that replaced it.
    expectRejected(apply(moved, update(['r1', 'r3'])), moved, FailedPreconditionError, 'epoch');
    expectRejected(
      apply(moved, update(['r1', 'r3'], { epoch: group.epoch + 1n })),
      moved,
      FailedPreconditionError,
      'primary_id',
    );
  });

  it('refuses a member outside the group naming in_sync[i]', () => {
    expectRejected(apply(created, update(['r1', 'router-1'])), created, FailedPreconditionError, 'in_sync[1]');
  });

  it('rejects an unknown group as NOT_FOUND naming group_id', () => {
    expectRejected(apply(created, update(['r1'], { groupId: 'g2' })), created, NotFoundError, 'group_id');
  });

  it.each([
    ['in_sync', update(['r2', 'r3'])],
    ['in_sync', update([])],
    ['in_sync', update(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'])],
    ['in_sync[1]', update(['r1', 'r1'])],
    ['in_sync[0]', update(['R1', 'r1'])],
    ['group_id', update(['r1'], { groupId: '-g1' })],
    ['epoch', update(['r1'], { epoch: -1n })],
    ['primary_id', update(['r1'], { primaryId: '' })],
  ])('rejects a malformed request as INVALID_ARGUMENT naming %s', (field, command) => {
    expectRejected(apply(created, command), created, InvalidArgumentError, field);
  });
});

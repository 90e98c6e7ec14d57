import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import { applyAll, expectRejected, leasedFixture } from '../../testing';
import { apply } from '../apply';
import type { StartHandoverCommand } from '../commands';
import { findGroup } from '../topology';

const { topology: leased, group } = leasedFixture(5_000);

const startHandover = (overrides: Partial<StartHandoverCommand> = {}): StartHandoverCommand => ({
  type: 'startHandover',
  groupId: 'g1',
  expectedEpoch: group.epoch,
  target: 'r2',
  ...overrides,
});

describe('startHandover', () => {
  it('marks the group with its target at the same epoch, lease and primary untouched', () => {
    const { topology, events, result } = apply(leased, startHandover());
    const next = { ...group, handoverTarget: 'r2' };
    expect(findGroup(topology, 'g1')).toEqual(next);
    expect(topology.revision).toBe(leased.revision + 1n);
    expect(events).toEqual([{ revision: topology.revision, change: { type: 'groupUpdated', group: next } }]);
    expect(result).toEqual({ ok: true, value: { group: next } });
  });

  it('changes nothing for the same target again (a retry or a second caller joins), and refuses another target', () => {
    const marked = applyAll([startHandover()], leased);
    const repeat = apply(marked, startHandover());
    expect(repeat.topology).toBe(marked);
    expect(repeat.events).toEqual([]);
    expect(repeat.result).toEqual({ ok: true, value: { group: findGroup(marked, 'g1') } });
    const message = expectRejected(
      apply(marked, startHandover({ target: 'r3' })),
      marked,
      FailedPreconditionError,
      'target_primary',
    );
    expect(message).toContain("handing over to 'r2'");
  });

  it('refuses the primary itself, a member out of sync and a non-member, naming target_primary', () => {
    expectRejected(apply(leased, startHandover({ target: 'r1' })), leased, FailedPreconditionError, 'target_primary');
    const shrunk = applyAll(
      [{ type: 'updateInSyncSet', groupId: 'g1', epoch: group.epoch, primaryId: 'r1', inSync: ['r1', 'r2'] }],
      leased,
    );
    const lagging = expectRejected(
      apply(shrunk, startHandover({ target: 'r3' })),
      shrunk,
      FailedPreconditionError,
      'target_primary',
    );
    expect(lagging).toContain('in-sync set');
    expectRejected(
      apply(leased, startHandover({ target: 'router-1' })),
      leased,
      FailedPreconditionError,
      'target_primary',
    );
  });

  it('refuses any epoch but the current one (0 included) naming expected_epoch, and an unknown group as NOT_FOUND', () => {
    for (const expectedEpoch of [0n, group.epoch - 1n, group.epoch + 1n]) {
      expectRejected(
        apply(leased, startHandover({ expectedEpoch })),
        leased,
        FailedPreconditionError,
        'expected_epoch',
      );
    }
    expectRejected(apply(leased, startHandover({ groupId: 'g9' })), leased, NotFoundError, 'group_id');
  });

  it.each([
    ['group_id', startHandover({ groupId: 'G1' })],
    ['expected_epoch', startHandover({ expectedEpoch: -1n })],
    ['target_primary', startHandover({ target: '' })],
  ])('rejects a malformed request as INVALID_ARGUMENT naming %s', (field, command) => {
    expectRejected(apply(leased, command), leased, InvalidArgumentError, field);
  });
});

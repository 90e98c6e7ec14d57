import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from '@bulwark/errors';
import { applyAll, expectRejected, groupFixture, registerAll, replica, service } from '../../testing';
import { apply } from '../apply';
import type { CreateGroupCommand } from '../commands';
import { groupMembersMax, topologyGroupsMax } from '../limits';
import { findGroup } from '../topology';

const create = (
  groupId: string,
  members: string[],
  overrides: Partial<CreateGroupCommand> = {},
): CreateGroupCommand => ({
  type: 'createGroup',
  groupId,
  members,
  mode: 'sync',
  ...overrides,
});

/** Replicas r1..r8 declaring g1, a router, and r9 declaring g2. */
const registered = applyAll(
  registerAll([
    ...Array.from({ length: 8 }, (_, index) => replica(`r${index + 1}`, 'g1')),
    service('router-1', 'router'),
    replica('r9', 'g2'),
  ]),
);

describe('createGroup', () => {
  it('creates the group with the first member as primary, everyone in sync, and no lease yet', () => {
    const { topology, events, result } = apply(registered, create('g1', ['r2', 'r1', 'r3'], { mode: 'async' }));
    const group = {
      id: 'g1',
      epoch: topology.revision,
      primary: 'r2',
      members: ['r2', 'r1', 'r3'],
      inSync: ['r2', 'r1', 'r3'],
      mode: 'async',
      primaryLeaseRevision: topology.revision,
      primaryLeaseMs: 0,
      handoverTarget: '',
    };
    expect(topology.revision).toBe(registered.revision + 1n);
    expect(findGroup(topology, 'g1')).toEqual(group);
    expect(events).toEqual([{ revision: topology.revision, change: { type: 'groupUpdated', group } }]);
    expect(result).toEqual({ ok: true, value: { group } });
  });

  it('gives a group created again after deletion an epoch above every epoch of the deleted one', () => {
    const { topology: first, group } = groupFixture();
    const failedOver = applyAll(
      [
        {
          type: 'failover',
          groupId: 'g1',
          expectedEpoch: 0n,
          newPrimary: 'r2',
          expectedPrimaryLeaseRevision: group.primaryLeaseRevision,
        },
      ],
      first,
    );
    const lastEpoch = findGroup(failedOver, 'g1')?.epoch as bigint;
    expect(lastEpoch).toBe(group.epoch + 1n);
    const again = applyAll([{ type: 'deleteGroup', groupId: 'g1' }, create('g1', ['r1', 'r2', 'r3'])], failedOver);
    expect(findGroup(again, 'g1')?.epoch).toBeGreaterThan(lastEpoch);
  });

  it.each([
    ['group_id', create('G1', ['r1'])],
    ['members', create('g1', [])],
    ['members', create('g1', ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'])],
    ['members[1]', create('g1', ['r1', 'R2'])],
    ['members[2]', create('g1', ['r1', 'r2', 'r1'])],
    ['mode', create('g1', ['r1'], { mode: 'quorum' as CreateGroupCommand['mode'] })],
  ])('rejects a malformed request as INVALID_ARGUMENT naming %s', (field, command) => {
    expectRejected(apply(registered, command), registered, InvalidArgumentError, field);
  });

  it(`accepts groupMembersMax (${groupMembersMax}) members`, () => {
    const members = Array.from({ length: groupMembersMax }, (_, index) => `r${index + 1}`);
    expect(apply(registered, create('g1', members)).result.ok).toBe(true);
  });

  it('rejects an existing group id as ALREADY_EXISTS naming group_id', () => {
    const { topology } = groupFixture();
    expectRejected(apply(topology, create('g1', ['r1'])), topology, AlreadyExistsError, 'group_id');
  });

  it('rejects an unregistered member as NOT_FOUND naming members[i]', () => {
    expectRejected(apply(registered, create('g1', ['r1', 'ghost'])), registered, NotFoundError, 'members[1]');
  });

  it('rejects a member that is not a replica as FAILED_PRECONDITION naming members[i]', () => {
    expectRejected(
      apply(registered, create('g1', ['r1', 'router-1'])),
      registered,
      FailedPreconditionError,
      'members[1]',
    );
  });

  it('rejects a replica that declared another group (or none) as FAILED_PRECONDITION naming members[i]', () => {
    expectRejected(apply(registered, create('g1', ['r1', 'r9'])), registered, FailedPreconditionError, 'members[1]');
    const withSpare = applyAll(registerAll([replica('spare', '')]), registered);
    expectRejected(apply(withSpare, create('g1', ['spare'])), withSpare, FailedPreconditionError, 'members[0]');
  });

  it('rejects a replica another group lists, since it declared that group', () => {
    const { topology } = groupFixture();
    expectRejected(apply(topology, create('g2', ['r1'])), topology, FailedPreconditionError, 'members[0]');
  });

  it(`holds at most topologyGroupsMax (${topologyGroupsMax}) groups`, () => {
    const ids = Array.from({ length: topologyGroupsMax + 1 }, (_, index) => `g${index}`);
    const full = applyAll([
      ...registerAll(ids.map((id) => replica(`r-${id}`, id))),
      ...ids.slice(0, topologyGroupsMax).map((id) => create(id, [`r-${id}`])),
    ]);
    const last = ids[topologyGroupsMax] as string;
    expectRejected(apply(full, create(last, [`r-${last}`])), full, ResourceExhaustedError, 'topologyGroupsMax');
  });
});

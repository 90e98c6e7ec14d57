import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  ResourceExhaustedError,
} from '@bulwark/errors';
import { applyAll, expectRejected, groupFixture, registerAll, replica, service } from '../../testing';
import { apply } from '../apply';
import type { RegisterMemberCommand } from '../commands';
import { topologyMembersMax } from '../limits';
import { emptyTopology, findMember } from '../topology';
import type { Member } from '../types';

const register = (member: Member): RegisterMemberCommand => ({ type: 'registerMember', member });

describe('registerMember', () => {
  it('adds a new member at the next revision, with one memberRegistered event', () => {
    const member = replica('r1', 'g1');
    const { topology, events, result } = apply(emptyTopology, register(member));
    expect(topology.revision).toBe(1n);
    expect(topology.members).toEqual([member]);
    expect(events).toEqual([{ revision: 1n, change: { type: 'memberRegistered', member } }]);
    expect(result).toEqual({ ok: true, value: { member } });
  });

  it('keeps members sorted by id whatever the order they register in', () => {
    const topology = applyAll(registerAll([service('m-2', 'monitor'), replica('a-1', ''), service('c-1', 'lock')]));
    expect(topology.members.map((member) => member.id)).toEqual(['a-1', 'c-1', 'm-2']);
  });

  it('treats the same registration again as a repeat: same topology, no event, no new revision', () => {
    const first = apply(emptyTopology, register(replica('r1', 'g1')));
    const again = apply(first.topology, register(replica('r1', 'g1')));
    expect(again.topology).toBe(first.topology);
    expect(again.events).toEqual([]);
    expect(again.result).toEqual({ ok: true, value: { member: replica('r1', 'g1') } });
  });

  it('updates the address of a known member', () => {
    const start = applyAll(registerAll([replica('r1', 'g1')]));
    const moved = replica('r1', 'g1', '10.0.0.7:7100');
    const { topology, events } = apply(start, register(moved));
    expect(topology.revision).toBe(2n);
    expect(findMember(topology, 'r1')).toEqual(moved);
    expect(events).toEqual([{ revision: 2n, change: { type: 'memberRegistered', member: moved } }]);
  });

  it('records a metrics address, and a restart that serves metrics elsewhere updates it', () => {
    const withMetrics = { ...replica('r1', 'g1'), metricsAddress: 'r1:9464' };
    const start = applyAll(registerAll([withMetrics]));
    expect(findMember(start, 'r1')?.metricsAddress).toBe('r1:9464');
    const moved = { ...withMetrics, metricsAddress: 'r1:9465' };
    const { topology, events } = apply(start, register(moved));
    expect(findMember(topology, 'r1')?.metricsAddress).toBe('r1:9465');
    expect(events).toEqual([{ revision: 2n, change: { type: 'memberRegistered', member: moved } }]);
  });

  it('lets a replica declare a group that does not exist yet, since groups are created from registered replicas', () => {
    const { topology, result } = apply(emptyTopology, register(replica('r1', 'group-to-come')));
    expect(result.ok).toBe(true);
    expect(findMember(topology, 'r1')?.groupId).toBe('group-to-come');
  });

  it('lets a replica in no group change the group it declares', () => {
    const start = applyAll(registerAll([replica('r1', 'g1')]));
    const { topology } = apply(start, register(replica('r1', 'g2')));
    expect(findMember(topology, 'r1')?.groupId).toBe('g2');
    expect(topology.revision).toBe(2n);
  });

  it('lets a replica in a group move to a new address', () => {
    const { topology: start } = groupFixture();
    const { topology, result } = apply(start, register(replica('r2', 'g1', 'r2.example:7101')));
    expect(result.ok).toBe(true);
    expect(findMember(topology, 'r2')?.address).toBe('r2.example:7101');
  });

  it.each([
    ['member.id', { ...replica('r1', ''), id: 'R1' }],
    ['member.id', { ...replica('r1', ''), id: '' }],
    ['member.address', replica('r1', '', 'r1')],
    ['member.address', replica('r1', '', 'r1:0')],
    ['member.metrics_address', { ...replica('r1', ''), metricsAddress: 'r1' }],
    ['member.metrics_address', { ...replica('r1', ''), metricsAddress: 'r1:99999' }],
    ['member.role', { ...replica('r1', ''), role: 'primary' as Member['role'] }],
    ['member.group_id', { ...service('router-1', 'router'), groupId: 'g1' }],
    ['member.group_id', replica('r1', 'Group_1')],
  ])('rejects a malformed member as INVALID_ARGUMENT naming %s', (field, member) => {
    expectRejected(apply(emptyTopology, register(member)), emptyTopology, InvalidArgumentError, field);
  });

  it('rejects a command without a member as INVALID_ARGUMENT naming member', () => {
    const command = { type: 'registerMember', member: undefined } as unknown as RegisterMemberCommand;
    expectRejected(apply(emptyTopology, command), emptyTopology, InvalidArgumentError, 'member');
  });

  it('rejects an address another member holds as ALREADY_EXISTS naming member.address', () => {
    const start = applyAll(registerAll([replica('r1', 'g1')]));
    const message = expectRejected(
      apply(start, register(replica('r2', 'g1', 'r1:7100'))),
      start,
      AlreadyExistsError,
      'member.address',
    );
    expect(message).toContain("'r1'");
  });

  it('rejects a change of role as FAILED_PRECONDITION naming member.role', () => {
    const start = applyAll(registerAll([replica('x1', '')]));
    expectRejected(
      apply(start, register(service('x1', 'router', 'x1:7100'))),
      start,
      FailedPreconditionError,
      'member.role',
    );
  });

  it.each([['g2'], ['']])(
    "rejects a replica a group lists declaring group '%s' as FAILED_PRECONDITION naming member.group_id",
    (declared) => {
      const { topology } = groupFixture();
      expectRejected(
        apply(topology, register(replica('r1', declared))),
        topology,
        FailedPreconditionError,
        'member.group_id',
      );
    },
  );

  it(`holds at most topologyMembersMax (${topologyMembersMax}) members; known members still update when full`, () => {
    const full = applyAll(
      registerAll(Array.from({ length: topologyMembersMax }, (_, index) => service(`m${index}`, 'monitor'))),
    );
    expect(full.members).toHaveLength(topologyMembersMax);
    expectRejected(
      apply(full, register(service('one-more', 'monitor'))),
      full,
      ResourceExhaustedError,
      'topologyMembersMax',
    );
    expect(apply(full, register(service('m0', 'monitor', 'elsewhere:7000'))).result.ok).toBe(true);
  });
});

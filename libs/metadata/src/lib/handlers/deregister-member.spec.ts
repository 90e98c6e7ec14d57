import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@bulwark/errors';
import { applyAll, expectRejected, groupFixture, registerAll, replica, service } from '../../testing';
import { apply } from '../apply';
import { findMember } from '../topology';

describe('deregisterMember', () => {
  it('removes a router, and its address is free for a new member', () => {
    const { topology: start } = groupFixture();
    const { topology, events, result } = apply(start, { type: 'deregisterMember', memberId: 'router-1' });
    expect(findMember(topology, 'router-1')).toBeUndefined();
    expect(topology.revision).toBe(start.revision + 1n);
    expect(topology.groups).toBe(start.groups);
    expect(events).toEqual([
      { revision: topology.revision, change: { type: 'memberDeregistered', memberId: 'router-1' } },
    ]);
    expect(result).toEqual({ ok: true, value: { memberId: 'router-1' } });
    // A pod that takes over the old one's address registers under its own name.
    const taken = apply(start, { type: 'registerMember', member: service('router-2', 'router', 'router-1:7000') });
    expect(taken.result.ok).toBe(false);
    const freed = apply(topology, { type: 'registerMember', member: service('router-2', 'router', 'router-1:7000') });
    expect(freed.result.ok).toBe(true);
  });

  it('removes a replica no group lists and a registered coordinator record, but not a replica a group lists', () => {
    const { topology: start } = groupFixture();
    const topology = applyAll(registerAll([replica('r9', 'g9'), service('coordinator-1', 'coordinator')]), start);
    expect(apply(topology, { type: 'deregisterMember', memberId: 'r9' }).result.ok).toBe(true);
    const listed = expectRejected(
      apply(topology, { type: 'deregisterMember', memberId: 'r2' }),
      topology,
      FailedPreconditionError,
      'member_id',
    );
    expect(listed).toContain("group 'g1'");
    expect(apply(topology, { type: 'deregisterMember', memberId: 'coordinator-1' }).result.ok).toBe(true);
  });

  it('rejects an unknown member as NOT_FOUND and a malformed id as INVALID_ARGUMENT, both naming member_id', () => {
    const { topology } = groupFixture();
    expectRejected(
      apply(topology, { type: 'deregisterMember', memberId: 'ghost' }),
      topology,
      NotFoundError,
      'member_id',
    );
    expectRejected(
      apply(topology, { type: 'deregisterMember', memberId: 'Not_An_Id' }),
      topology,
      InvalidArgumentError,
      'member_id',
    );
  });
});

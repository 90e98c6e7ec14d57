// A caller's request_id makes a retried command idempotent: the state
// machine remembers the first outcome of each request (replicated, bounded,
// in snapshots) and answers a retry with it instead of applying it again.
import { AlreadyExistsError, InternalError, NotFoundError } from '@bulwark/errors';
import { applyAll, groupFixture, leasedFixture, replica } from '../testing';
import type { FailoverCommand, MetadataCommand } from './commands';
import type { RequestKey } from './request-table';
import { MetadataStateMachine } from './state-machine';
import { findGroup } from './topology';
import { topologyEquals } from './topology-equals';

const fingerprint = (seed: string) => seed.repeat(64).slice(0, 64);
const key = (id: string, seed = 'a'): RequestKey => ({ id, fingerprint: fingerprint(seed) });

function failoverOf(machine: MetadataStateMachine, overrides: Partial<FailoverCommand> = {}): FailoverCommand {
  const group = findGroup(machine.topology, 'g1');
  return {
    type: 'failover',
    groupId: 'g1',
    // Without an expected epoch: only the request id keeps a retry from moving the primary twice.
    expectedEpoch: 0n,
    newPrimary: group?.inSync.find((id) => id !== group.primary) ?? '',
    expectedPrimaryLeaseRevision: group?.primaryLeaseRevision ?? 0n,
    ...overrides,
  };
}

describe('retried requests', () => {
  it('apply a double Failover once; the retry gets the first answer: same revision, same group', () => {
    const machine = new MetadataStateMachine(groupFixture().topology);
    const epoch = findGroup(machine.topology, 'g1')?.epoch as bigint;
    const first = machine.apply(failoverOf(machine), key('failover-1'));
    const afterFirst = machine.topology;
    // The retry is resolved against the state after the first: it would move the primary again.
    const retry = failoverOf(machine);
    expect(retry.newPrimary).toBe('r3');
    const second = machine.apply(retry, key('failover-1'));
    expect(first.result.ok).toBe(true);
    expect(second.result).toBe(first.result);
    expect(second.revision).toBe(first.revision);
    expect(second.events).toEqual([]);
    expect(machine.topology).toBe(afterFirst);
    expect(findGroup(machine.topology, 'g1')).toMatchObject({ epoch: epoch + 1n, primary: 'r2', inSync: ['r2', 'r3'] });
    // Without the request id the same command is applied again.
    expect(machine.apply(retry).result.ok).toBe(true);
    expect(findGroup(machine.topology, 'g1')?.epoch).toBe(epoch + 2n);
  });

  it('answer a retry of a refused request with the first error, even once the state would let it succeed', () => {
    const machine = new MetadataStateMachine();
    const create: MetadataCommand = { type: 'createGroup', groupId: 'g1', members: ['r1'], mode: 'sync' };
    const refused = machine.apply(create, key('create-1'));
    expect(refused.result.ok === false && refused.result.error).toBeInstanceOf(NotFoundError);
    machine.apply({ type: 'registerMember', member: replica('r1', 'g1') });
    const retried = machine.apply(create, key('create-1'));
    expect(retried.result).toBe(refused.result);
    expect(findGroup(machine.topology, 'g1')).toBeUndefined();
  });

  it('do not remember a retryable refusal: the retry, decided again, applies', () => {
    const { topology } = leasedFixture(5_000);
    const machine = new MetadataStateMachine(topology);
    const stale = failoverOf(machine);
    const epoch = findGroup(machine.topology, 'g1')?.epoch as bigint;
    machine.apply({ type: 'renewPrimaryLease', groupId: 'g1', memberId: 'r1', epoch, leaseMs: 1 });
    const raced = machine.apply(stale, key('failover-2'));
    expect(raced.result.ok === false && raced.result.error.retryable).toBe(true);
    expect(machine.rememberedRequests).toEqual([]);
    expect(machine.apply(failoverOf(machine), key('failover-2')).result.ok).toBe(true);
  });

  it('refuse another request under a known request_id as ALREADY_EXISTS naming request_id, changing nothing', () => {
    const machine = new MetadataStateMachine(groupFixture().topology);
    machine.apply({ type: 'registerMember', member: replica('r7', '') }, key('id-1', 'a'));
    const before = machine.topology;
    const other = machine.apply({ type: 'registerMember', member: replica('r8', '') }, key('id-1', 'b'));
    expect(other.result.ok === false && other.result.error).toBeInstanceOf(AlreadyExistsError);
    expect(other.result.ok === false && other.result.error.details.field).toBe('request_id');
    expect(other.events).toEqual([]);
    expect(machine.topology).toBe(before);
    expect(machine.rememberedRequests.map((request) => request.fingerprint)).toEqual([fingerprint('a')]);
  });

  it('refuse a malformed request id or fingerprint as INVALID_ARGUMENT, applying nothing', () => {
    const machine = new MetadataStateMachine();
    const register: MetadataCommand = { type: 'registerMember', member: replica('r1', '') };
    for (const [request, field] of [
      [{ id: 'has space', fingerprint: fingerprint('a') }, 'request_id'],
      [{ id: 'x'.repeat(129), fingerprint: fingerprint('a') }, 'request_id'],
      [{ id: 'ok', fingerprint: 'not-hex' }, 'request_fingerprint'],
    ] as const) {
      const refused = machine.apply(register, request);
      expect(refused.result.ok === false && refused.result.error.details.field).toBe(field);
    }
    expect(machine.topology.revision).toBe(0n);
  });

  it('remember at most requestsMax requests and forget the oldest first', () => {
    const machine = new MetadataStateMachine(undefined, undefined, 3);
    for (const index of [1, 2, 3, 4]) {
      machine.apply({ type: 'registerMember', member: replica(`r${index}`, '') }, key(`register-${index}`));
    }
    expect(machine.rememberedRequests.map((request) => request.id)).toEqual(['register-2', 'register-3', 'register-4']);
    // Forgotten: a retry of the first is applied again (a repeat registration: no new revision).
    const revision = machine.topology.revision;
    const again = machine.apply({ type: 'registerMember', member: replica('r1', '') }, key('register-1'));
    expect(again.revision).toBe(revision);
    expect(machine.rememberedRequests.map((request) => request.id)).toEqual(['register-3', 'register-4', 'register-1']);
  });

  it('keep the table across a snapshot: the installed machine answers a retry with the first outcome', () => {
    const source = new MetadataStateMachine(groupFixture().topology);
    const first = source.apply(failoverOf(source), key('failover-3'));
    const caughtUp = new MetadataStateMachine();
    caughtUp.installSnapshot(structuredClone(source.topology), structuredClone(source.rememberedRequests));
    expect(topologyEquals(caughtUp.topology, source.topology)).toBe(true);
    const retried = caughtUp.apply(failoverOf(caughtUp), key('failover-3'));
    expect(retried.revision).toBe(first.revision);
    expect(retried.result).toEqual(first.result);
    expect(caughtUp.topology.revision).toBe(source.topology.revision);
  });

  it('refuse a snapshot whose table this machine could not have built, changing nothing', () => {
    const topology = applyAll([{ type: 'registerMember', member: replica('r1', '') }]);
    const remembered = { ...key('a'), revision: 1n, result: { ok: true as const, value: {} } };
    const machine = new MetadataStateMachine();
    for (const requests of [
      [remembered, remembered],
      [{ ...remembered, revision: 2n }],
      [{ ...remembered, id: 'bad id' }],
      [remembered, { ...remembered, id: 'b', revision: 0n }],
      Array.from({ length: 4 }, (_, index) => ({ ...remembered, id: `r${index}` })),
    ]) {
      const small = new MetadataStateMachine(undefined, undefined, 3);
      expect(() => small.installSnapshot(topology, requests)).toThrow(InternalError);
      expect(small.topology.revision).toBe(0n);
    }
    machine.installSnapshot(topology, [remembered]);
    expect(machine.rememberedRequests).toEqual([remembered]);
  });
});

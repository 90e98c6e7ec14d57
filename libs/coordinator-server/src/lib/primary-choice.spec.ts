import type { ReplicaGroup } from '@bulwark/metadata';
import type { DurableState } from './durable-states';
import { mostUpToDate, nextPrimary } from './primary-choice';

const group: ReplicaGroup = {
  id: 'g1',
  epoch: 9n,
  primary: 'r1',
  members: ['r1', 'r2', 'r3', 'r4'],
  inSync: ['r1', 'r2', 'r3'],
  mode: 'sync',
  primaryLeaseRevision: 9n,
  primaryLeaseMs: 600,
  handoverTarget: '',
};
const state = (memberId: string, lastEpoch: bigint, durableSequence: bigint): DurableState => ({
  memberId,
  lastEpoch,
  durableSequence,
});

describe('choosing the next primary', () => {
  it('takes the highest last_epoch first, then the highest durable_sequence', () => {
    expect(mostUpToDate(group, [state('r2', 8n, 100n), state('r3', 9n, 5n)])).toBe('r3');
    expect(mostUpToDate(group, [state('r2', 9n, 6n), state('r3', 9n, 5n)])).toBe('r2');
  });

  it('breaks ties by member order, whatever order the answers came in', () => {
    expect(mostUpToDate(group, [state('r3', 9n, 5n), state('r2', 9n, 5n)])).toBe('r2');
    expect(mostUpToDate(group, [state('r2', 9n, 5n), state('r1', 9n, 5n)])).toBe('r1');
  });

  it('considers only in-sync members that answered, less the excluded one; none answering is undefined', () => {
    expect(mostUpToDate(group, [state('r4', 9n, 99n), state('r2', 1n, 1n)])).toBe('r2');
    expect(mostUpToDate(group, [state('r1', 9n, 99n), state('r2', 1n, 1n)], 'r1')).toBe('r2');
    expect(mostUpToDate(group, [state('r4', 9n, 99n)])).toBeUndefined();
    expect(mostUpToDate(group, [])).toBeUndefined();
  });

  it('prefers a handover target that answered and is in sync, else chooses by the logs', () => {
    const handingOver = { ...group, handoverTarget: 'r3' };
    const answers = [state('r1', 9n, 20n), state('r2', 9n, 19n), state('r3', 9n, 18n)];
    expect(nextPrimary(handingOver, answers)).toBe('r3');
    expect(nextPrimary(handingOver, answers.slice(0, 2))).toBe('r1');
    expect(nextPrimary({ ...handingOver, inSync: ['r1', 'r2'] }, answers)).toBe('r1');
    expect(nextPrimary(group, answers)).toBe('r1');
  });
});

// Random command steps for property tests. A step is a template of random
// choices ("the current epoch", "an in-sync backup", "an address another
// member holds") that run-steps.ts resolves against the topology a run has
// reached, so a good share of commands succeed and every rejection path is
// taken too (properties.spec.ts checks that both happen for every type).
import fc from 'fast-check';
import { leaseMsMax } from '../lib/limits';
import { memberRoles, replicationModes, type MemberRole, type ReplicationMode } from '../lib/types';

export const homeGroupOf: Readonly<Record<string, string>> = {
  r1: 'g1',
  r2: 'g1',
  r3: 'g1',
  r4: 'g2',
  r5: 'g2',
  r6: 'g3',
  r7: 'g3',
};
export const replicaIds = Object.keys(homeGroupOf);
export const groupIds = ['g1', 'g2', 'g3'];
export const invalidId = 'Not_An_Id';

export type EpochChoice = 'current' | 'zero' | 'stale' | 'next';
/** The lease revision a failover carries: the group's, or one a grant has moved past since the leader decided. */
export type LeaseRevisionChoice = 'current' | 'stale';
export type MemberChoice = 'primary' | 'inSyncBackup' | 'laggingMember' | 'outsider' | 'invalid';

export type Template =
  | {
      type: 'registerMember';
      id: string;
      role: MemberRole;
      declared: 'home' | 'none' | 'other';
      /** othersOwn: the address another member registers with first, free again once that member moved. */
      address: 'own' | 'moved' | 'taken' | 'othersOwn' | 'invalid';
    }
  | {
      type: 'createGroup';
      groupId: string;
      /** homeSubset: all home replicas but the last, so a group re-created after deletion can list fewer. */
      members: 'home' | 'homeReversed' | 'homeSubset' | 'withOutsider' | 'none' | 'duplicated';
      mode: ReplicationMode;
    }
  | { type: 'deleteGroup'; groupId: string }
  | { type: 'deregisterMember'; memberId: string }
  | {
      type: 'setRing';
      version: 'current' | 'wrong';
      virtualNodesPerWeight: number;
      groups: { groupId: string; weight: number }[];
    }
  | { type: 'failover'; groupId: string; epoch: EpochChoice; target: MemberChoice; leaseRevision: LeaseRevisionChoice }
  | { type: 'startHandover'; groupId: string; epoch: EpochChoice; target: MemberChoice }
  | { type: 'renewPrimaryLease'; groupId: string; member: MemberChoice; epoch: EpochChoice; leaseMs: number }
  | {
      type: 'updateInSyncSet';
      groupId: string;
      primary: MemberChoice;
      epoch: EpochChoice;
      /** Whether each of the group's first three members is listed (the primary is listed anyway). */
      keep: boolean[];
      addOutsider: boolean;
    }
  | { type: 'noop' };

export interface Step {
  readonly template: Template;
}

const groupId = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...groupIds) }, fc.constant(invalidId));
const epochChoice = fc.constantFrom<EpochChoice>('current', 'current', 'current', 'zero', 'stale', 'next');
const memberChoice = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<MemberChoice>('primary', 'inSyncBackup') },
  fc.constantFrom<MemberChoice>('laggingMember', 'outsider', 'invalid'),
);

const template: fc.Arbitrary<Template> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('registerMember' as const),
      id: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...replicaIds, 'router-1') }, fc.constant(invalidId)),
      role: fc.oneof({ weight: 6, arbitrary: fc.constant<MemberRole>('replica') }, fc.constantFrom(...memberRoles)),
      declared: fc.constantFrom('home', 'home', 'home', 'home', 'home', 'home', 'none', 'other'),
      address: fc.constantFrom('own', 'own', 'own', 'moved', 'taken', 'othersOwn', 'invalid'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('createGroup' as const),
      groupId,
      members: fc.constantFrom(
        'home',
        'home',
        'home',
        'home',
        'homeReversed',
        'homeSubset',
        'withOutsider',
        'none',
        'duplicated',
      ),
      mode: fc.constantFrom(...replicationModes),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('deleteGroup' as const), groupId }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('deregisterMember' as const),
      memberId: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...replicaIds, 'router-1') }, fc.constant(invalidId)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('setRing' as const),
      version: fc.constantFrom('current', 'current', 'current', 'wrong'),
      virtualNodesPerWeight: fc.constantFrom(0, 1, 16, 16_384, 16_385),
      groups: fc.array(
        fc.record({
          groupId: fc.constantFrom(...groupIds),
          weight: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 1, max: 3 }) }, fc.constantFrom(0, 1000, 1001)),
        }),
        { maxLength: 4 },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('failover' as const),
      groupId,
      epoch: epochChoice,
      target: memberChoice,
      leaseRevision: fc.constantFrom<LeaseRevisionChoice>('current', 'current', 'current', 'stale'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('startHandover' as const),
      groupId,
      epoch: epochChoice,
      target: memberChoice,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('renewPrimaryLease' as const),
      groupId,
      member: memberChoice,
      epoch: epochChoice,
      leaseMs: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 4_000 }) }, fc.constant(leaseMsMax + 1)),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('updateInSyncSet' as const),
      groupId,
      primary: memberChoice,
      epoch: epochChoice,
      keep: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      addOutsider: fc.constantFrom(false, false, false, true),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'noop' as const }) },
);

const step: fc.Arbitrary<Step> = fc.record({ template });

/** 1 to maxLength steps, lengths spread over the whole range (fast-check's default size keeps arrays short). */
export function stepsArbitrary(maxLength: number): fc.Arbitrary<Step[]> {
  return fc.array(step, { minLength: 1, maxLength, size: 'max' });
}

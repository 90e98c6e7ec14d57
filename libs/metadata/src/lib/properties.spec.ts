// Property tests over random command sequences (see testing/command-steps.ts
// for how steps are drawn). Each test states its run count; a failure prints
// the shrunk sequence and the seed that replays it.
import fc from 'fast-check';
import { runSteps, stepsArbitrary, type Run } from '../testing';
import { apply } from './apply';
import { applyEvents } from './apply-events';
import type { CommandResult, CommandType } from './commands';
import { topologyViolations } from './invariants';
import { MetadataStateMachine } from './state-machine';
import { emptyTopology } from './topology';
import { topologyEquals } from './topology-equals';
import type { Topology } from './types';

const stepsMax = 60;
const steps = stepsArbitrary(stepsMax);

/** A result as data: for an error, its class, field and message. */
function describeResult(result: CommandResult): unknown {
  if (result.ok) return result;
  const { error } = result;
  return { ok: false, kind: error.kind, field: error.details.field, message: error.message };
}

/** Runs the property over each transition of a run: the topology before, what apply returned, the one after. */
function eachTransition(run: Run, check: (before: Topology, index: number) => void): void {
  run.applied.forEach((_, index) => check(run.states[index] as Topology, index));
}

describe('metadata state machine properties', () => {
  it('is deterministic: the same commands from the same start give equal topologies, events and answers (200 runs)', () => {
    fc.assert(
      fc.property(steps, (drawn) => {
        const first = runSteps(drawn);
        let topology = emptyTopology;
        first.commands.forEach((command, index) => {
          const again = apply(topology, command);
          const original = first.applied[index];
          expect(topologyEquals(again.topology, original?.topology ?? emptyTopology)).toBe(true);
          expect(again.events).toEqual(original?.events);
          expect(describeResult(again.result)).toEqual(original && describeResult(original.result));
          topology = again.topology;
        });
      }),
      { numRuns: 200 },
    );
  });

  it('keeps every invariant of topologyViolations after every command (300 runs)', () => {
    fc.assert(
      fc.property(steps, (drawn) => {
        for (const state of runSteps(drawn).states) expect(topologyViolations(state)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('changes nothing on a rejection; a change is one revision and its events carry it (300 runs)', () => {
    fc.assert(
      fc.property(steps, (drawn) => {
        const run = runSteps(drawn);
        eachTransition(run, (before, index) => {
          const { topology, events, result } = run.applied[index] as Run['applied'][number];
          if (!result.ok || events.length === 0) {
            expect(topology).toBe(before);
            expect(events).toEqual([]);
          } else {
            expect(topology.revision).toBe(before.revision + 1n);
            for (const event of events) expect(event.revision).toBe(topology.revision);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it("matches events to changes: each command's events turn the topology before into the one after (300 runs)", () => {
    fc.assert(
      fc.property(steps, (drawn) => {
        const run = runSteps(drawn);
        eachTransition(run, (before, index) => {
          const applied = run.applied[index] as Run['applied'][number];
          expect(topologyEquals(applyEvents(before, applied.events), applied.topology)).toBe(true);
        });
        const allEvents = run.applied.flatMap((applied) => applied.events);
        expect(topologyEquals(applyEvents(emptyTopology, allEvents), run.states.at(-1) as Topology)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never lowers an epoch (even across delete and re-create), a lease revision, the ring version or the revision (300 runs)', () => {
    fc.assert(
      fc.property(steps, (drawn) => {
        const run = runSteps(drawn);
        const highestEpochById = new Map<string, bigint>();
        eachTransition(run, (before, index) => {
          const after = run.states[index + 1] as Topology;
          expect(after.revision).toBeGreaterThanOrEqual(before.revision);
          expect(after.ring.version).toBeGreaterThanOrEqual(before.ring.version);
          for (const group of after.groups) {
            expect(group.epoch).toBeGreaterThanOrEqual(highestEpochById.get(group.id) ?? 0n);
            highestEpochById.set(group.id, group.epoch);
            const previous = before.groups.find((candidate) => candidate.id === group.id);
            // Within an epoch and across failovers of one group (not across a re-creation).
            if (previous) expect(group.primaryLeaseRevision).toBeGreaterThanOrEqual(previous.primaryLeaseRevision);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('keeps each primary a member and in sync, and the ring on existing groups, after every command (300 runs)', () => {
    fc.assert(
      fc.property(steps, (drawn) => {
        for (const state of runSteps(drawn).states) {
          for (const group of state.groups) {
            expect(group.inSync).toContain(group.primary);
            expect(group.members).toContain(group.primary);
          }
          const groupIds = state.groups.map((group) => group.id);
          for (const ringGroup of state.ring.groups) expect(groupIds).toContain(ringGroup.groupId);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("gives the state machine's indexed state the answers, events and topology of apply() on the topology, after every command (200 runs)", () => {
    fc.assert(
      fc.property(steps, (drawn) => {
        const run = runSteps(drawn);
        const machine = new MetadataStateMachine();
        run.commands.forEach((command, index) => {
          const reference = run.applied[index] as Run['applied'][number];
          expect(describeResult(machine.check(command))).toEqual(describeResult(reference.result));
          const answer = machine.apply(command);
          expect(describeResult(answer.result)).toEqual(describeResult(reference.result));
          expect(answer.events).toEqual(reference.events);
          expect(answer.revision).toBe(reference.topology.revision);
          expect(topologyEquals(machine.topology, reference.topology)).toBe(true);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('resumes a watch from any revision with exactly the later events, or says compacted (200 runs, 8 events kept)', () => {
    const eventsMax = 8;
    fc.assert(
      fc.property(steps, (drawn) => {
        const run = runSteps(drawn);
        const machine = new MetadataStateMachine(emptyTopology, eventsMax);
        for (const command of run.commands) machine.apply(command);
        const allEvents = run.applied.flatMap((applied) => applied.events);
        const lastRevision = machine.topology.revision;
        for (let revision = 0n; revision <= lastRevision + 1n; revision++) {
          const answer = machine.eventsSince(revision);
          const expected = allEvents.filter((event) => event.revision > revision);
          if (answer.type === 'compacted') {
            expect(revision).toBeLessThan(answer.oldestRevision);
            expect(expected.length).toBeGreaterThan(eventsMax - 1);
          } else {
            expect(answer.events).toEqual(expected);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('brings a replica that installs a snapshot midway to the same topology as one that applied everything (100 runs)', () => {
    fc.assert(
      fc.property(steps, fc.nat(), (drawn, cutSeed) => {
        const run = runSteps(drawn);
        const cut = cutSeed % (run.commands.length + 1);
        const caughtUp = new MetadataStateMachine();
        caughtUp.installSnapshot(structuredClone(run.states[cut] as Topology));
        for (const command of run.commands.slice(cut)) caughtUp.apply(command);
        expect(topologyEquals(caughtUp.topology, run.states.at(-1) as Topology)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('draws sequences that reach every outcome the properties above rely on (300 runs, fixed seed)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(steps, (drawn) => {
        const run = runSteps(drawn);
        const deleted = new Set<string>();
        run.commands.forEach((command, index) => {
          const { result, events } = run.applied[index] as Run['applied'][number];
          seen.add(`${command.type} ${result.ok ? 'ok' : 'rejected'}`);
          if (!result.ok) seen.add(`${command.type} rejected naming ${result.error.details.field}`);
          if (result.ok && events.length === 0) seen.add(`${command.type} unchanged`);
          if (command.type === 'deleteGroup' && result.ok) deleted.add(command.groupId);
          if (command.type === 'createGroup' && result.ok && deleted.has(command.groupId)) seen.add('re-created');
        });
      }),
      { numRuns: 300, seed: 20_261_123 },
    );
    const types: CommandType[] = [
      'registerMember',
      'deregisterMember',
      'createGroup',
      'deleteGroup',
      'setRing',
      'failover',
      'startHandover',
      'renewPrimaryLease',
      'updateInSyncSet',
    ];
    for (const outcome of [
      ...types.flatMap((type) => [`${type} ok`, `${type} rejected`]),
      'noop ok',
      'registerMember unchanged',
      'deregisterMember rejected naming member_id',
      'updateInSyncSet unchanged',
      'startHandover unchanged',
      'startHandover rejected naming target_primary',
      'renewPrimaryLease rejected naming handover_target',
      'failover rejected naming expected_primary_lease_revision',
      'failover rejected naming expected_epoch',
      'renewPrimaryLease rejected naming epoch',
      'updateInSyncSet rejected naming epoch',
      'setRing rejected naming expected_version',
      'deleteGroup rejected naming group_id',
      're-created',
    ]) {
      expect(seen).toContain(outcome);
    }
  });
});

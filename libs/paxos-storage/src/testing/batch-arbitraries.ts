// fast-check generators of persist batches for the storage property tests.
// Slots come mostly from a small range, so batches overwrite each other's
// entries and snapshots drop some, and sometimes from the whole uint64 range,
// so values beyond 2^53 are exercised on every run.
import fc from 'fast-check';
import type { AcceptedEntry, Ballot, Entry, PersistBatch, Snapshot } from '@bulwark/paxos';

const uint64Max = (1n << 64n) - 1n;

const uint64 = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 12n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: uint64Max }) },
);

const nodeId = fc.constantFrom('', 'a', 'b', 'coordinator-3', 'nœud-ünïcode');

const ballot: fc.Arbitrary<Ballot> = fc.record({ round: uint64, nodeId });

const command = fc.uint8Array({ maxLength: 24 });

const accepted: fc.Arbitrary<AcceptedEntry> = fc.record({ slot: uint64, ballot, command });

const chosen: fc.Arbitrary<Entry> = fc.record({ slot: uint64, command });

const snapshot: fc.Arbitrary<Snapshot> = fc.record({ lastSlot: uint64, data: fc.uint8Array({ maxLength: 64 }) });

/** One batch in five carries a snapshot, as often as needed to hit both of its paths without drowning the log. */
export const persistBatch: fc.Arbitrary<PersistBatch> = fc
  .record({
    promised: fc.option(ballot, { nil: undefined }),
    accepted: fc.array(accepted, { maxLength: 4 }),
    chosen: fc.array(chosen, { maxLength: 4 }),
    commitSlot: fc.option(uint64, { nil: undefined }),
    snapshot: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: snapshot }),
  })
  .map(({ promised, commitSlot, snapshot: installed, ...entries }) => ({
    ...entries,
    ...(promised ? { promised } : {}),
    ...(commitSlot !== undefined ? { commitSlot } : {}),
    ...(installed ? { snapshot: installed } : {}),
  }));

/** Batches with restarts (close and reopen) between some of them. */
export const batchesWithRestarts: fc.Arbitrary<(PersistBatch | 'restart')[]> = fc.array(
  fc.oneof({ weight: 5, arbitrary: persistBatch }, { weight: 1, arbitrary: fc.constant('restart' as const) }),
  { maxLength: 25 },
);

/**
 * Makes most chosen entries repeat, as a copy, the command of an entry
 * accepted in the same batch or an earlier one: `picks` says which, one pick
 * per chosen entry in turn, a pick past the last accepted entry keeping the
 * random value (as a value learned in catch-up would be).
 */
function repeatAcceptedCommands(
  steps: readonly (PersistBatch | 'restart')[],
  picks: readonly number[],
): (PersistBatch | 'restart')[] {
  const acceptedSoFar: AcceptedEntry[] = [];
  let pickIndex = 0;
  return steps.map((step) => {
    if (step === 'restart') return step;
    acceptedSoFar.push(...step.accepted);
    const chosen = step.chosen.map((entry) => {
      const pick = picks[pickIndex++ % picks.length] as number;
      const source = acceptedSoFar[pick % (acceptedSoFar.length + 1)];
      return source ? { slot: source.slot, command: source.command.slice() } : entry;
    });
    return { ...step, chosen };
  });
}

/**
 * Batches and restarts as the Paxos core persists them: a slot's command
 * accepted, then chosen with the same bytes (stored as a reference to the
 * accepted value). Repeats of entries since overwritten by another accept,
 * or dropped by a snapshot, and the values kept random, are stored in full.
 */
export const acceptedThenChosenSteps: fc.Arbitrary<(PersistBatch | 'restart')[]> = fc
  .tuple(batchesWithRestarts, fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 40 }))
  .map(([steps, picks]) => repeatAcceptedCommands(steps, picks));

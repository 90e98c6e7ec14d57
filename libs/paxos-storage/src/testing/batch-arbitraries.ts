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

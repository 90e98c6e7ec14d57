// Random call sequences that are valid by construction: fast-check draws
// abstract steps (fractions, counts, flags), and each is made concrete
// against the log as the model holds it at that point, so shrinking keeps
// every sequence valid.
import fc from 'fast-check';
import type { EpochStart, KeepEntries, PersistBatch, RecoveredReplicaState, SnapshotPoint } from '../lib/replica-types';
import { snapshotData } from './storage-fixtures';

/** A fraction in [0, 1), as thousandths. */
const fraction = fc.integer({ min: 0, max: 999 });

export type AbstractStep =
  | {
      kind: 'append';
      truncate: number | undefined;
      entryCount: number;
      epochRaise: number;
      commandBytes: number;
      raiseHighest: boolean;
      raiseLed: boolean;
    }
  | {
      kind: 'snapshot';
      at: number;
      keep: 'none' | number;
      beyond: number;
      back: boolean;
      dataBytes: number;
      asyncChunks: boolean;
    }
  | { kind: 'restart' };

const appendStep = fc.record({
  kind: fc.constant('append' as const),
  truncate: fc.option(fraction, { nil: undefined, freq: 4 }),
  entryCount: fc.nat({ max: 4 }),
  epochRaise: fc.constantFrom(0, 0, 0, 1),
  commandBytes: fc.nat({ max: 24 }),
  raiseHighest: fc.boolean(),
  raiseLed: fc.constantFrom(false, false, true),
});

const snapshotStep = fc.record({
  kind: fc.constant('snapshot' as const),
  at: fraction,
  keep: fc.oneof(fc.constant('none' as const), fraction),
  beyond: fc.constantFrom(0, 0, 1, 3),
  back: fc.constantFrom(false, false, false, true),
  dataBytes: fc.constantFrom(0, 1, 100, 5000),
  asyncChunks: fc.boolean(),
});

export const abstractSteps: fc.Arbitrary<AbstractStep[]> = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: appendStep },
    { weight: 2, arbitrary: snapshotStep },
    { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  ),
  { minLength: 8, maxLength: 40, size: 'max' },
);

export type ConcreteStep =
  | { kind: 'append'; batch: PersistBatch }
  | { kind: 'snapshot'; position: SnapshotPoint; keep: KeepEntries; data: Uint8Array; asyncChunks: boolean };

/** The log as a recovered state describes it: where it ends, and which epoch wrote what. */
class LogView {
  readonly snapshotLast: bigint;
  readonly last: bigint;

  constructor(private readonly state: RecoveredReplicaState) {
    this.snapshotLast = state.snapshot?.lastSequence ?? 0n;
    this.last = state.entries.at(-1)?.sequence ?? this.snapshotLast;
  }

  /** The epoch starts through `sequence` (at most the log's end). */
  startsThrough(sequence: bigint): EpochStart[] {
    const starts = (this.state.snapshot?.epochStarts ?? []).filter((start) => start.firstSequence <= sequence);
    for (const entry of this.state.entries) {
      if (entry.sequence <= this.snapshotLast || entry.sequence > sequence) continue;
      if (starts.at(-1)?.epoch !== entry.epoch) starts.push({ epoch: entry.epoch, firstSequence: entry.sequence });
    }
    return starts;
  }

  epochAt(sequence: bigint): bigint {
    return this.startsThrough(sequence).at(-1)?.epoch ?? 0n;
  }

  /** A sequence in from..to picked by a fraction. */
  static pick(from: bigint, to: bigint, thousandths: number): bigint {
    return from + (BigInt(thousandths) * (to - from + 1n)) / 1000n;
  }
}

/** `step` made concrete against `state`, the log as every call before it left it. */
export function concreteStep(
  step: Exclude<AbstractStep, { kind: 'restart' }>,
  state: RecoveredReplicaState,
  index: number,
): ConcreteStep {
  const log = new LogView(state);
  if (step.kind === 'append') {
    const truncateAfter =
      step.truncate === undefined ? undefined : LogView.pick(log.snapshotLast, log.last, step.truncate);
    const end = truncateAfter ?? log.last;
    const epoch = log.epochAt(end) + BigInt(step.epochRaise);
    const entries = Array.from({ length: step.entryCount }, (_, offset) => ({
      sequence: end + 1n + BigInt(offset),
      epoch,
      command: Uint8Array.from({ length: step.commandBytes }, (_, byte) => (index + offset + byte) & 0xff),
    }));
    return {
      kind: 'append',
      batch: {
        entries,
        ...(truncateAfter !== undefined && { truncateAfter }),
        ...(step.raiseHighest && { highestEpoch: state.highestEpoch + 1n }),
        ...(step.raiseLed && { ledEpoch: state.ledEpoch + 1n }),
      },
    };
  }
  const data = snapshotData(step.dataBytes, index);
  const inLog = LogView.pick(log.snapshotLast, log.last, step.at);
  if (step.keep !== 'none') {
    const position = { lastSequence: inLog, lastEpoch: log.epochAt(inLog), epochStarts: log.startsThrough(inLog) };
    const keep = LogView.pick(1n, inLog + 1n, step.keep);
    return { kind: 'snapshot', position, keep, data, asyncChunks: step.asyncChunks };
  }
  if (step.back) {
    // Starting over behind the stored snapshot: a failover lost writes this member applied.
    const lastSequence = LogView.pick(0n, log.snapshotLast, step.at);
    const epochStarts = log.startsThrough(lastSequence);
    const position = { lastSequence, lastEpoch: epochStarts.at(-1)?.epoch ?? 0n, epochStarts };
    return { kind: 'snapshot', position, keep: 'none', data, asyncChunks: step.asyncChunks };
  }
  // A snapshot fetched from a primary may reach past this member's log, written in a newer epoch.
  const lastSequence = inLog + BigInt(step.beyond);
  const epochStarts = log.startsThrough(inLog);
  if (lastSequence > inLog) {
    epochStarts.push({ epoch: (epochStarts.at(-1)?.epoch ?? 0n) + 1n, firstSequence: inLog + 1n });
  }
  const position = { lastSequence, lastEpoch: epochStarts.at(-1)?.epoch ?? 0n, epochStarts };
  return { kind: 'snapshot', position, keep: 'none', data, asyncChunks: step.asyncChunks };
}

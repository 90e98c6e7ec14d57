// fast-check generators of register histories for the checker's property
// tests: a legal linearization first, then intervals widened around each
// operation's linearization point, so the history is linearizable by
// construction however much the intervals overlap.
import fc from 'fast-check';
import type { HistoryOperation } from '../lib/operation';
import { replayOnRegisters, type PlannedOperation } from './sequential-register';

/** ok takes effect; unknown-applied takes effect but its client never hears; unknown-lost and failed never take effect. */
type Fate = 'ok' | 'unknown-applied' | 'unknown-lost' | 'failed';

interface Step {
  readonly key: string;
  readonly op: 'put' | 'get' | 'cas' | 'del';
  readonly expectsCurrent: boolean;
  readonly expectPick: number;
  /** How far the interval reaches before and after the linearization point. */
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly fate: Fate;
}

/** Linearization points are this far apart; intervals reach up to 5 points either way (heavy overlap). */
const spacingMs = 10;
const reachMsMax = 5 * spacingMs;

function stepArbitrary(fates: readonly Fate[]): fc.Arbitrary<Step> {
  return fc.record({
    key: fc.constantFrom('a', 'b'),
    op: fc.constantFrom('put', 'get', 'get', 'cas', 'del'),
    expectsCurrent: fc.boolean(),
    expectPick: fc.nat(20),
    beforeMs: fc.integer({ min: 0, max: reachMsMax }),
    afterMs: fc.integer({ min: 0, max: reachMsMax }),
    fate: fc.constantFrom(...fates),
  });
}

function plan(steps: readonly Step[], firstPointMs: number, valuePrefix: string): PlannedOperation[] {
  return steps.map((step, index) => {
    const pointMs = firstPointMs + index * spacingMs;
    const takesEffect = step.fate === 'ok' || step.fate === 'unknown-applied';
    const unknown = step.fate === 'unknown-applied' || step.fate === 'unknown-lost';
    return {
      client: `c${index % 8}`,
      key: step.key,
      op: step.op,
      value: `${valuePrefix}${index}`,
      expectsCurrent: step.expectsCurrent,
      expect: step.expectPick === 0 ? null : `${valuePrefix}${step.expectPick % (index + 1)}`,
      invokedMs: pointMs - step.beforeMs,
      linearizedMs: takesEffect ? pointMs : null,
      completedMs: unknown ? null : pointMs + step.afterMs,
      outcome: step.fate === 'failed' ? 'fail' : unknown ? 'unknown' : 'ok',
    };
  });
}

const allFates: readonly Fate[] = ['ok', 'ok', 'ok', 'ok', 'unknown-applied', 'unknown-lost', 'failed'];

/** Linearizable histories of up to `length` operations on keys a and b, with unknown and failed outcomes. */
export function linearizableHistory(length: number): fc.Arbitrary<HistoryOperation[]> {
  return fc
    .array(stepArbitrary(allFates), { maxLength: length, size: 'max' })
    .map((steps) => replayOnRegisters(plan(steps, 0, 'v')));
}

export interface IsolatedRead {
  readonly history: HistoryOperation[];
  /** Index in history of a get on key a that overlaps no other operation. */
  readonly readIndex: number;
  /** What it read: the value of the put just before it, which also overlaps nothing. */
  readonly value: string;
}

/**
 * A linearizable history with a get on key a that overlaps no operation,
 * right after a put on key a that overlaps none either. Isolating the read
 * alone would not pin what it must return: concurrent writes before it can
 * be linearized in either order. The put pins it, and so the operations
 * before it are known-outcome only (an unknown one would overlap everything
 * after its invocation). After the read, anything goes.
 */
export function historyWithIsolatedRead(length: number): fc.Arbitrary<IsolatedRead> {
  const before = fc.array(stepArbitrary(['ok', 'ok', 'ok', 'failed']), { maxLength: length, size: 'max' });
  const after = fc.array(stepArbitrary(allFates), { maxLength: length, size: 'max' });
  return fc.tuple(before, after).map(([stepsBefore, stepsAfter]) => {
    // Past the reach of every interval before, and well before any interval after.
    const putMs = stepsBefore.length * spacingMs + reachMsMax + 10;
    const value = 'pinned';
    const isolated: PlannedOperation[] = [
      {
        client: 'writer',
        key: 'a',
        op: 'put',
        value,
        expectsCurrent: false,
        expect: null,
        invokedMs: putMs,
        linearizedMs: putMs + 1,
        completedMs: putMs + 2,
        outcome: 'ok',
      },
      {
        client: 'reader',
        key: 'a',
        op: 'get',
        value: null,
        expectsCurrent: false,
        expect: null,
        invokedMs: putMs + 10,
        linearizedMs: putMs + 11,
        completedMs: putMs + 12,
        outcome: 'ok',
      },
    ];
    const firstAfterMs = putMs + 12 + reachMsMax + 10;
    const history = replayOnRegisters([
      ...plan(stepsBefore, 0, 'b'),
      ...isolated,
      ...plan(stepsAfter, firstAfterMs, 'f'),
    ]);
    return { history, readIndex: stepsBefore.length + 1, value };
  });
}

// Property tests over generated histories of a correct store and a correct
// lock service: every checker passes them, and the file format reads back
// what it wrote. Each states its run count; a failure prints the seed.
import fc from 'fast-check';
import {
  ChaosHistoryBuilder,
  acquire,
  cas,
  casOk,
  committedAt,
  del,
  deleteOk,
  get,
  getOk,
  granted,
  put,
  putOk,
  release,
  released,
  replica,
} from '../testing';
import { checkChaosHistory } from './check-chaos-history';
import { checkLostSyncWrites } from './checkers/lost-writes';
import { checkConvergence } from './checkers/convergence';
import { formatChaosHistory, parseChaosHistory } from './json-lines';
import type { ChaosRecord, Durability, Operation } from './records';

const options = { asyncLossWindow: { beforeFaultMs: 100, afterFaultMs: 100 } };

type Fate = 'ok' | 'unknown-applied' | 'unknown-lost' | 'fail';

interface KvStep {
  readonly key: 'a' | 'b';
  readonly kind: 'put' | 'get' | 'delete' | 'cas';
  readonly durability: Durability;
  readonly strong: boolean;
  readonly expectsCurrent: boolean;
  /** How far the interval reaches before and after the point where it takes effect. */
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly fate: Fate;
}

const kvStep: fc.Arbitrary<KvStep> = fc.record({
  key: fc.constantFrom('a', 'b'),
  kind: fc.constantFrom('put', 'get', 'get', 'delete', 'cas'),
  durability: fc.constantFrom<Durability>('sync', 'sync', 'sync', 'async'),
  strong: fc.boolean(),
  expectsCurrent: fc.boolean(),
  beforeMs: fc.integer({ min: 0, max: 40 }),
  afterMs: fc.integer({ min: 0, max: 40 }),
  fate: fc.constantFrom<Fate>('ok', 'ok', 'ok', 'unknown-applied', 'unknown-lost', 'fail'),
});

interface KvHistory {
  readonly records: ChaosRecord[];
  /** Whether an ok sync write took effect on key a. */
  readonly syncWriteOfA: boolean;
}

/**
 * A history of a correct store: steps take effect 10 ms apart, in order, on
 * one map (a sequential register per key), inside intervals that overlap up
 * to 4 steps either way, each write at the next entry of one log; a fault
 * kills the primary now and then, and the log goes on at the next epoch;
 * after the run all three replicas hold the final map.
 */
function kvHistory(steps: readonly KvStep[]): KvHistory {
  const history = new ChaosHistoryBuilder();
  const state = new Map<string, string>();
  let syncWriteOfA = false;
  let epoch = 1n;
  let sequence = 0n;
  steps.forEach((step, index) => {
    const pointMs = 100 + index * 10;
    const interval: [number, number] = [pointMs - step.beforeMs, pointMs + step.afterMs];
    const client = `c${index % 5}`;
    const current = state.get(step.key) ?? null;
    const value = `v${index}`;
    const writeOptions = { durability: step.durability };
    let op: Operation;
    let swaps = true;
    switch (step.kind) {
      case 'put':
        op = put(step.key, value, writeOptions);
        break;
      case 'delete':
        op = del(step.key, writeOptions);
        break;
      case 'cas': {
        const expect = step.expectsCurrent ? current : 'never-written';
        swaps = expect === current;
        op = cas(step.key, expect, value, writeOptions);
        break;
      }
      case 'get':
        op = get(step.key, step.strong ? 'strong' : 'eventual');
        break;
    }
    const takesEffect = step.fate === 'ok' || step.fate === 'unknown-applied';
    // Every write that takes effect is an entry, also a cas that did not swap.
    if (takesEffect && step.kind !== 'get') sequence += 1n;
    if (takesEffect && swaps && step.kind !== 'get') {
      if (step.kind === 'delete') state.delete(step.key);
      else state.set(step.key, value);
      if (step.fate === 'ok' && step.key === 'a' && step.durability === 'sync') syncWriteOfA = true;
    }
    if (step.fate === 'fail') history.fail(client, op, interval);
    else if (step.fate !== 'ok') history.unknown(client, op, interval);
    else if (op.kind === 'put') history.ok(client, op, interval, committedAt(epoch, sequence, putOk()));
    else if (op.kind === 'delete') history.ok(client, op, interval, committedAt(epoch, sequence, deleteOk()));
    else if (op.kind === 'cas') history.ok(client, op, interval, committedAt(epoch, sequence, casOk(swaps)));
    else history.ok(client, op as ReturnType<typeof get>, interval, getOk(current));
    if (index % 7 === 3) {
      history.fault('kill', [replica('replica-a1', 'group-a', true)], [pointMs, pointMs + 5]);
      epoch += 1n;
    }
  });
  const endMs = 200 + steps.length * 10;
  for (const member of ['replica-a1', 'replica-a2', 'replica-a3']) {
    history.finalRead('group-a', member, endMs, 'digest', { a: state.get('a') ?? null, b: state.get('b') ?? null });
  }
  return { records: history.records, syncWriteOfA };
}

interface LockStep {
  /** How long after the previous grant the next acquire is invoked (it waits if the lock is held). */
  readonly invokeAfterMs: number;
  readonly validForMs: number;
  /** Released this long after the grant, or (null) left to expire. */
  readonly releaseAfterMs: number | null;
  readonly tokenGap: number;
  readonly writes: number;
  /** The holder writes again with its token after the next holder wrote: the replicas refuse it. */
  readonly lateWrite: boolean;
}

const lockStep: fc.Arbitrary<LockStep> = fc.record({
  invokeAfterMs: fc.integer({ min: 0, max: 60 }),
  validForMs: fc.integer({ min: 1, max: 50 }),
  releaseAfterMs: fc.option(fc.integer({ min: 0, max: 60 })),
  tokenGap: fc.integer({ min: 1, max: 3 }),
  writes: fc.integer({ min: 0, max: 2 }),
  lateWrite: fc.boolean(),
});

/** Holders of one lock served one after another, fencing their writes; a late write with an old token is refused. */
function lockHistory(steps: readonly LockStep[]): ChaosRecord[] {
  const history = new ChaosHistoryBuilder();
  let heldUntilMs = 0;
  let grantedMs = 0;
  let token = 0n;
  let lastWriteMs = 0;
  let lateWriter: { owner: string; token: bigint } | null = null;
  steps.forEach((step, index) => {
    const owner = `o${index}`;
    const invokedMs = grantedMs + step.invokeAfterMs;
    const okMs = Math.max(invokedMs + 1, heldUntilMs);
    token += BigInt(step.tokenGap);
    const validUntilMs = okMs - 1 + step.validForMs;
    history.ok(owner, acquire('L', owner), [invokedMs, okMs], granted(token, validUntilMs));
    const releaseMs = step.releaseAfterMs === null ? null : okMs + step.releaseAfterMs;
    heldUntilMs = Math.min(validUntilMs, releaseMs ?? Infinity);
    grantedMs = okMs;
    // Writes start and end while the lease holds (the replicas' fence is raised in order).
    for (let write = 0; write < step.writes && okMs + write + 1 < heldUntilMs; write++) {
      const fence = { lockName: 'L', token };
      history.ok(owner, put(`k${write}`, `${owner}-${write}`, { fence }), [okMs + write, okMs + write + 1], putOk());
      lastWriteMs = okMs + write + 1;
      if (lateWriter !== null) {
        const stale = { lockName: 'L', token: lateWriter.token };
        history.fail(lateWriter.owner, put('k0', 'late', { fence: stale }), [lastWriteMs, lastWriteMs + 1]);
        lateWriter = null;
      }
    }
    if (releaseMs !== null) history.ok(owner, release('L', owner, token), [releaseMs, releaseMs + 1], released());
    if (step.lateWrite) lateWriter = { owner, token };
  });
  return history.records;
}

describe('checker properties', () => {
  it('pass every history of a correct store, which reads back from its file unchanged (300 runs)', () => {
    fc.assert(
      fc.property(fc.array(kvStep, { maxLength: 40 }), (steps) => {
        const { records } = kvHistory(steps);
        const report = checkChaosHistory(records, options);
        expect(report.anomalyCount).toBe(0);
        expect(report.linearizability.undecidedKeys).toEqual([]);
        expect(parseChaosHistory(formatChaosHistory(records))).toEqual(records);
      }),
      { numRuns: 300 },
    );
  });

  it('find a loss when one replica ends with a value nobody wrote, exactly if an acknowledged sync write preceded it (300 runs)', () => {
    fc.assert(
      fc.property(fc.array(kvStep, { maxLength: 30 }), (steps) => {
        const { records, syncWriteOfA } = kvHistory(steps);
        const corrupted = records.map((record) =>
          record.type === 'final-read' && record.member === 'replica-a2'
            ? { ...record, values: new Map([...record.values, ['a', 'ghost']]) }
            : record,
        );
        expect(checkLostSyncWrites(corrupted).anomalyCount > 0).toBe(syncWriteOfA);
        expect(checkConvergence(corrupted).anomalies.map((anomaly) => anomaly.kind)).toEqual(['values-differ']);
      }),
      { numRuns: 300 },
    );
  });

  it('pass every history of a correct lock service with fenced writes (300 runs)', () => {
    fc.assert(
      fc.property(fc.array(lockStep, { maxLength: 30 }), (steps) => {
        const report = checkChaosHistory(lockHistory(steps), options);
        expect(report.lockMutualExclusion.anomalyCount).toBe(0);
        expect(report.fencingTokenOrder.anomalyCount).toBe(0);
        expect(report.staleTokenWrites.anomalyCount).toBe(0);
        expect(report.anomalyCount).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
